package io.aether.http;

import io.aether.common.Watchdog;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import io.aether.security.Tls;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * A small HTTP/1.1 client for Aether's servers, over a Unix socket or post-quantum TLS: one
 * connection per request, JSON bodies, and server-sent event streams.
 *
 * <p>Not the JDK's {@code HttpClient}: it cannot connect to a Unix socket, and it does not pass
 * the named-group restriction on to the TLS engine ({@code Utils.copySSLParameters} drops named
 * groups and signature schemes), so it could not guarantee X25519MLKEM768. Not Jetty's client
 * either: the CLI would start its thread pools and selector for one request. This one writes
 * a request and reads the answer on the calling thread, on a plain socket channel or on the
 * security module's TLS socket, and bounds the head, the body and the time.
 */
public final class ApiClient {

    private static final int MAX_HEAD_BYTES = 64 << 10;
    private static final long MAX_BODY_BYTES = Limits.MAX_BODY_LIMIT;

    private sealed interface Transport {
        record Unix(Path socket) implements Transport { }

        record Tcp(String host, int port, SSLContext tls) implements Transport { }
    }

    private final Transport transport;
    private final Duration timeout;

    private ApiClient(Transport transport, Duration timeout) {
        Limits.positive("client timeout", timeout);
        this.transport = transport;
        this.timeout = timeout;
    }

    /** A client of the server on the Unix socket {@code socket}; each request must finish within {@code timeout}. */
    public static ApiClient unix(Path socket, Duration timeout) {
        return new ApiClient(new Transport.Unix(Objects.requireNonNull(socket, "socket")), timeout);
    }

    /** A client of a TLS listener whose certificate {@code trust} accepts, presenting no certificate. */
    public static ApiClient tls(String host, int port, ServerTrust trust, Duration timeout) {
        return new ApiClient(new Transport.Tcp(host, port, Tls.clientContext(trust)), timeout);
    }

    /** A client of a mutual-TLS listener: pins the server's certificate and presents {@code certificate}. */
    public static ApiClient mutualTls(String host, int port, ServerTrust.Pinned server, ServerCredentials certificate, Duration timeout) {
        return new ApiClient(new Transport.Tcp(host, port, Tls.mutualClientContext(server, certificate)), timeout);
    }

    /**
     * A complete answer.
     *
     * @param headers header names in lower case; a repeated header keeps its last value
     */
    public record Reply(int status, Map<String, String> headers, byte[] body) {

        public Reply {
            headers = Map.copyOf(headers);
        }

        public boolean ok() {
            return status >= 200 && status <= 299;
        }

        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** The body as {@code type}; an answer that is not 2xx is an {@link IOException} with the server's message. */
        public <T> T json(Class<T> type) throws IOException {
            requireOk();
            return JsonReader.read(body, type);
        }

        /** Throws an {@link IOException} saying {@code STATUS error: message} unless the status is 2xx. */
        public Reply requireOk() throws IOException {
            if (!ok()) {
                throw new IOException(status + " " + JsonReader.errorLine(body));
            }
            return this;
        }
    }

    public Reply get(String path) throws IOException {
        return send("GET", path, null);
    }

    public Reply post(String path, Object body) throws IOException {
        return send("POST", path, body);
    }

    /** Sends {@code body} (null for none) as JSON and reads the whole answer. */
    public Reply send(String method, String path, Object body) throws IOException {
        try (Exchange x = open(method, path, body == null ? null : Json.write(body), "application/json", timeout)) {
            return new Reply(x.status, x.headers, x.readBody());
        }
    }

    /**
     * Opens an event stream ({@code GET path}); events are read with {@link EventStream#next}.
     * The connect and the head of the answer must arrive within the client's timeout.
     */
    public EventStream events(String path) throws IOException {
        Exchange x = open("GET", path, null, "text/event-stream", timeout);
        if (x.status != 200) {
            try (x) {
                throw new IOException(x.status + " " + JsonReader.errorLine(x.readBody()));
            }
        }
        x.disarm();
        return new EventStream(x);
    }

    /** An open event stream. */
    public static final class EventStream implements AutoCloseable {
        private final Exchange exchange;
        private final InputStream body;

        private EventStream(Exchange exchange) throws IOException {
            this.exchange = exchange;
            this.body = exchange.bodyStream();
        }

        /**
         * The next event within {@code wait}; empty when the server ended the stream cleanly.
         *
         * @throws IOException when the stream broke (a server that dropped this client closes it
         *                     without the final chunk) or {@code wait} passed (which closes the stream)
         */
        public Optional<Event> next(Duration wait) throws IOException {
            exchange.arm(wait);
            try {
                String type = "message";
                StringBuilder data = null;
                while (true) {
                    String line = exchange.line(body, true);
                    if (line == null) {
                        return Optional.empty();
                    }
                    if (line.isEmpty()) {
                        if (data != null) {
                            return Optional.of(new Event(type, data.toString()));
                        }
                        type = "message";
                    } else if (line.startsWith("event:")) {
                        type = line.substring(6).strip();
                    } else if (line.startsWith("data:")) {
                        String d = line.substring(5);
                        d = d.startsWith(" ") ? d.substring(1) : d;
                        data = data == null ? new StringBuilder(d) : data.append('\n').append(d);
                    }
                }
            } finally {
                exchange.disarm();
            }
        }

        @Override
        public void close() throws IOException {
            exchange.close();
        }
    }

    private Exchange open(String method, String path, byte[] body, String accept, Duration within) throws IOException {
        if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c >= 0x7f)) {
            throw new IllegalArgumentException("request path must start with '/' and hold no spaces or control characters: '" + path + "'");
        }
        Exchange x = switch (transport) {
            case Transport.Unix u -> {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                Exchange e = new Exchange(ch, Channels.newInputStream(ch), Channels.newOutputStream(ch), "localhost");
                e.arm(within);
                try {
                    ch.connect(UnixDomainSocketAddress.of(u.socket()));
                } catch (IOException failed) {
                    e.close();
                    throw new IOException(u.socket() + ": " + failed.getMessage(), failed);
                }
                yield e;
            }
            case Transport.Tcp t -> {
                var socket = Tls.connect(t.tls(), t.host(), t.port(), (int) Math.min(Integer.MAX_VALUE, within.toMillis()));
                Exchange e = new Exchange(socket, socket.getInputStream(), socket.getOutputStream(), t.host() + ":" + t.port());
                e.arm(within);
                yield e;
            }
        };
        try {
            StringBuilder head = new StringBuilder().append(method).append(' ').append(path).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(x.host).append("\r\nAccept: ").append(accept).append("\r\nConnection: close\r\n");
            if (body != null) {
                head.append("Content-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n");
            }
            OutputStream out = x.out;
            out.write(head.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
            if (body != null) {
                out.write(body);
            }
            out.flush();
            x.readHead();
            return x;
        } catch (IOException | RuntimeException e) {
            x.close();
            throw e;
        }
    }

    /** One connection: the request written, the answer being read, all of it under a deadline that closes the connection. */
    private static final class Exchange implements Closeable {
        private final Closeable connection;
        private final InputStream in;
        private final OutputStream out;
        private final String host;
        private int status;
        private final Map<String, String> headers = new HashMap<>();
        private volatile Watchdog.Armed alarm;
        /** Whether a deadline of this connection passed and closed it. */
        private volatile boolean expired;

        Exchange(Closeable connection, InputStream in, OutputStream out, String host) {
            this.connection = connection;
            this.in = new BufferedInputStream(in);
            this.out = out;
            this.host = host;
        }

        /** Closes the connection if it is still open after {@code within}: every blocked read or write then fails. */
        void arm(Duration within) {
            disarm();
            alarm = Watchdog.arm(() -> {
                expired = true;
                connection.close();
            }, within);
        }

        void disarm() {
            Watchdog.Armed a = alarm;
            if (a != null) {
                a.close();
                alarm = null;
            }
        }

        void readHead() throws IOException {
            String statusLine = line(in, false);
            if (statusLine == null || !statusLine.matches("HTTP/1\\.[01] \\d{3}( .*)?")) {
                throw new IOException(host + ": not an HTTP answer: '" + abbreviate(statusLine) + "'");
            }
            status = Integer.parseInt(statusLine.substring(9, 12));
            int bytes = statusLine.length();
            for (String h = line(in, false); ; h = line(in, false)) {
                if (h == null) {
                    throw new EOFException(host + ": the answer ended inside its head");
                }
                if (h.isEmpty()) {
                    return;
                }
                bytes += h.length();
                if (bytes > MAX_HEAD_BYTES) {
                    throw new IOException(host + ": answer head over " + MAX_HEAD_BYTES + " bytes");
                }
                int colon = h.indexOf(':');
                if (colon > 0) {
                    headers.put(h.substring(0, colon).strip().toLowerCase(Locale.ROOT), h.substring(colon + 1).strip());
                }
            }
        }

        InputStream bodyStream() throws IOException {
            if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                return new Chunked(this);
            }
            String length = headers.get("content-length");
            if (length != null) {
                long n;
                try {
                    n = Long.parseLong(length);
                } catch (NumberFormatException e) {
                    throw new IOException(host + ": bad Content-Length '" + abbreviate(length) + "'");
                }
                if (n < 0 || n > MAX_BODY_BYTES) {
                    throw new IOException(host + ": answer body of " + length + " bytes is over " + MAX_BODY_BYTES);
                }
                return new Sized(this, n);
            }
            return in;
        }

        byte[] readBody() throws IOException {
            InputStream body = bodyStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            for (int r; (r = body.read(buf)) >= 0; ) {
                if (all.size() + (long) r > MAX_BODY_BYTES) {
                    throw new IOException(host + ": answer body over " + MAX_BODY_BYTES + " bytes");
                }
                all.write(buf, 0, r);
            }
            return all.toByteArray();
        }

        /** A line without its CR LF; null at the end of the stream (mid-line too, unless {@code utf8} text may end there). */
        String line(InputStream from, boolean utf8) throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            while (true) {
                int b;
                try {
                    b = from.read();
                } catch (IOException e) {
                    throw expired ? new IOException(host + ": no answer within the time allowed", e) : e;
                }
                if (b < 0) {
                    if (expired) {
                        throw new IOException(host + ": no answer within the time allowed");
                    }
                    return null;
                }
                if (b == '\n') {
                    byte[] bytes = line.toByteArray();
                    int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                    return new String(bytes, 0, n, utf8 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
                }
                if (line.size() >= MAX_HEAD_BYTES) {
                    throw new IOException(host + ": a line of the answer is over " + MAX_HEAD_BYTES + " bytes");
                }
                line.write(b);
            }
        }

        @Override
        public void close() throws IOException {
            disarm();
            connection.close();
        }
    }

    /** An answer body read in blocks; single bytes go through the block read. */
    private abstract static class BodyStream extends InputStream {
        @Override
        public final int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }
    }

    /** A body of a Content-Length; one that ends short is an error. */
    private static final class Sized extends BodyStream {
        private final Exchange x;
        private long left;

        Sized(Exchange x, long length) {
            this.x = x;
            this.left = length;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) {
                return -1;
            }
            int r = x.in.read(b, off, (int) Math.min(len, left));
            if (r < 0) {
                throw new EOFException(x.host + ": the answer ended " + left + " bytes short of its Content-Length");
            }
            left -= r;
            return r;
        }
    }

    /** The chunked transfer coding (RFC 9112 section 7.1); a stream that breaks before its last chunk is an error. */
    private static final class Chunked extends BodyStream {
        private final Exchange x;
        private long left;
        private boolean done;

        Chunked(Exchange x) {
            this.x = x;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) {
                return -1;
            }
            if (left == 0) {
                String size = x.line(x.in, false);
                if (size == null) {
                    throw new EOFException(x.host + ": the answer broke off before its last chunk");
                }
                try {
                    left = Long.parseLong(size.split(";", 2)[0].strip(), 16);
                } catch (NumberFormatException e) {
                    throw new IOException(x.host + ": bad chunk size '" + abbreviate(size) + "'");
                }
                if (left < 0 || left > MAX_BODY_BYTES) {
                    throw new IOException(x.host + ": chunk of " + size + " bytes");
                }
                if (left == 0) {
                    for (String trailer = x.line(x.in, false); trailer != null && !trailer.isEmpty(); trailer = x.line(x.in, false)) {
                        // trailers carry nothing Aether uses
                    }
                    done = true;
                    return -1;
                }
            }
            int r = x.in.read(b, off, (int) Math.min(len, left));
            if (r < 0) {
                throw new EOFException(x.host + ": the answer broke off inside a chunk");
            }
            left -= r;
            if (left == 0 && x.line(x.in, false) == null) {
                throw new EOFException(x.host + ": the answer broke off after a chunk");
            }
            return r;
        }
    }

    /** Reading answers without the server's strictness: the server is trusted to speak JSON. */
    private static final class JsonReader {
        private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER = new com.fasterxml.jackson.databind.ObjectMapper()
                .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

        static <T> T read(byte[] body, Class<T> type) throws IOException {
            return MAPPER.readValue(body, type);
        }

        /** {@code error: message} of an error body, or its first line when it is not one. */
        static String errorLine(byte[] body) {
            try {
                var node = MAPPER.readTree(body);
                if (node != null && node.hasNonNull("error") && node.hasNonNull("message")) {
                    return node.get("error").asText() + ": " + node.get("message").asText();
                }
            } catch (IOException notJson) {
                // fall through to the text
            }
            return abbreviate(new String(body, StandardCharsets.UTF_8).lines().findFirst().orElse(""));
        }
    }

    private static String abbreviate(String s) {
        if (s == null) {
            return "";
        }
        String printable = s.replaceAll("[^\\x20-\\x7e]", "?");
        return printable.length() <= 120 ? printable : printable.substring(0, 120) + "...";
    }
}
