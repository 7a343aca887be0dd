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
import java.nio.ByteBuffer;
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
import java.util.concurrent.ConcurrentLinkedDeque;
import javax.net.ssl.SSLContext;

/**
 * A small HTTP/1.1 client for Aether's servers, over a Unix socket or post-quantum TLS: JSON
 * bodies and server-sent event streams. Over a Unix socket a request's connection is kept for the
 * next request for up to {@link #KEEP_IDLE} (at most {@link #MAX_KEPT} of them): a new connection
 * costs the server an accept and a registration with its selector, two thread hand-offs on the
 * request's path (docs/BENCHMARKS.md (d), "The handover sent ahead and a kept connection"). Over TLS each request has its own
 * connection.
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
    /** How long an idle connection is kept for the next request: well under any server's idle timeout. */
    static final Duration KEEP_IDLE = Duration.ofSeconds(2);
    /** Idle connections kept at most; a client that sent more requests at once closes the rest. */
    static final int MAX_KEPT = 2;

    private sealed interface Transport {
        record Unix(Path socket) implements Transport { }

        record Tcp(String host, int port, SSLContext tls) implements Transport { }
    }

    private final Transport transport;
    private final Duration timeout;
    /** Idle Unix-socket connections, the most recently used first; a closed one is dropped when met. */
    private final ConcurrentLinkedDeque<Exchange> kept = new ConcurrentLinkedDeque<>();

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
        Exchange x = open(method, path, body == null ? null : Json.write(body), "application/json", timeout, true);
        try {
            Reply reply = new Reply(x.status, x.headers, x.readBody());
            if (x.reusable()) {
                keep(x);
                x = null;
            }
            return reply;
        } finally {
            if (x != null) x.close();
        }
    }

    /** Puts an answered connection aside for the next request; the watchdog closes it once it has idled {@link #KEEP_IDLE}. */
    private void keep(Exchange x) throws IOException {
        kept.removeIf(k -> !k.channel.isOpen());
        if (kept.size() >= MAX_KEPT) {
            x.close();
            return;
        }
        x.closeWhenIdle(KEEP_IDLE);
        kept.addFirst(x);
    }

    /**
     * A kept connection that is still open and has nothing unread, or null: a server that closed
     * it (its idle timeout, a restart) shows as the end of the stream, read without blocking.
     */
    private Exchange reuse() {
        for (Exchange x; (x = kept.pollFirst()) != null; ) {
            x.disarm();
            if (x.idleAndOpen()) return x;
            try {
                x.close();
            } catch (IOException e) {
                // A dead connection's close: nothing left to do.
            }
        }
        return null;
    }

    /**
     * Opens an event stream ({@code GET path}); events are read with {@link EventStream#next}.
     * The connect and the head of the answer must arrive within the client's timeout.
     */
    public EventStream events(String path) throws IOException {
        Exchange x = open("GET", path, null, "text/event-stream", timeout, false);
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

    /**
     * Sends the request on a kept connection when {@code keepAlive} and one is there, else on a
     * new one; a kept connection that fails before any byte of the answer (the server closed it
     * just then) is replaced by a new one once.
     */
    private Exchange open(String method, String path, byte[] body, String accept, Duration within, boolean keepAlive) throws IOException {
        if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c >= 0x7f)) {
            throw new IllegalArgumentException("request path must start with '/' and hold no spaces or control characters: '" + path + "'");
        }
        boolean kept = keepAlive && transport instanceof Transport.Unix;
        byte[] request = request(method, path, body, accept, kept);
        Exchange reused = kept ? reuse() : null;
        if (reused != null) {
            reused.arm(within);
            try {
                reused.send(request);
                return reused;
            } catch (Exchange.NoAnswer stale) {
                reused.close();
            } catch (IOException | RuntimeException e) {
                reused.close();
                throw e;
            }
        }
        Exchange x = connect(within);
        try {
            x.send(request);
            return x;
        } catch (IOException | RuntimeException e) {
            x.close();
            throw e;
        }
    }

    /** The request's head and body in one buffer: one write, so that the server finds the body with the head. */
    private byte[] request(String method, String path, byte[] body, String accept, boolean keepAlive) {
        String host = switch (transport) {
            case Transport.Unix u -> "localhost";
            case Transport.Tcp t -> t.host() + ":" + t.port();
        };
        StringBuilder head = new StringBuilder().append(method).append(' ').append(path).append(" HTTP/1.1\r\n")
                .append("Host: ").append(host).append("\r\nAccept: ").append(accept).append("\r\n");
        if (!keepAlive) head.append("Connection: close\r\n");
        if (body != null) {
            head.append("Content-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n");
        }
        byte[] h = head.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII);
        if (body == null) return h;
        byte[] all = java.util.Arrays.copyOf(h, h.length + body.length);
        System.arraycopy(body, 0, all, h.length, body.length);
        return all;
    }

    /** A new connection, its deadline armed from before the connect. */
    private Exchange connect(Duration within) throws IOException {
        return switch (transport) {
            case Transport.Unix u -> {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                Exchange e = new Exchange(ch, ch, Channels.newInputStream(ch), Channels.newOutputStream(ch), "localhost");
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
                Exchange e = new Exchange(socket, null, socket.getInputStream(), socket.getOutputStream(), t.host() + ":" + t.port());
                e.arm(within);
                yield e;
            }
        };
    }

    /** One connection: the request written, the answer being read, all of it under a deadline that closes the connection. */
    private static final class Exchange implements Closeable {
        private final Closeable connection;
        /** The connection when it is a Unix socket's (kept between requests), else null. */
        private final SocketChannel channel;
        private final InputStream in;
        private final OutputStream out;
        private final String host;
        private int status;
        private final Map<String, String> headers = new HashMap<>();
        private volatile Watchdog.Armed alarm;
        /** Whether a deadline of this connection passed and closed it. */
        private volatile boolean expired;
        /** Whether the answer's body was read to its end as delimited (a length or the last chunk): the next answer may follow. */
        private boolean delimitedEnd;

        /** A kept connection that failed before the first byte of its answer: the server had closed it. */
        static final class NoAnswer extends IOException {
            NoAnswer(String message, Throwable cause) {
                super(message, cause);
            }
        }

        Exchange(Closeable connection, SocketChannel channel, InputStream in, OutputStream out, String host) {
            this.connection = connection;
            this.channel = channel;
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

        /**
         * Closes the connection once it has idled {@code idle}, without taking it for an answer
         * that came too late: if that close races with the connection's reuse, the request on it
         * fails before its answer and goes out on a new connection.
         */
        void closeWhenIdle(Duration idle) {
            disarm();
            alarm = Watchdog.arm(connection, idle);
        }

        void disarm() {
            Watchdog.Armed a = alarm;
            if (a != null) {
                a.close();
                alarm = null;
            }
        }

        /**
         * Writes the request and reads the answer's head. On a kept connection (one whose head
         * was read before) a failure before the answer's first byte is a {@link NoAnswer}.
         */
        void send(byte[] request) throws IOException {
            boolean again = status != 0;
            status = 0;
            headers.clear();
            delimitedEnd = false;
            String statusLine;
            try {
                out.write(request);
                out.flush();
                statusLine = line(in, false);
            } catch (IOException e) {
                if (again && !expired) throw new NoAnswer(host + ": the kept connection failed: " + e.getMessage(), e);
                throw e;
            }
            if (statusLine == null && again && !expired) throw new NoAnswer(host + ": the kept connection was closed", null);
            readHead(statusLine);
        }

        /** Whether nothing is unread and the server has not closed its end; checked without blocking. */
        boolean idleAndOpen() {
            if (channel == null || !channel.isOpen()) return false;
            try {
                if (in.available() > 0) return false;
                channel.configureBlocking(false);
                try {
                    return channel.read(ByteBuffer.allocate(1)) == 0;
                } finally {
                    channel.configureBlocking(true);
                }
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }

        /** Whether the answer was read to its delimited end and neither side asked to close: the connection may carry another request. */
        boolean reusable() {
            return channel != null && delimitedEnd && !expired && status >= 200
                    && !headers.getOrDefault("connection", "").toLowerCase(Locale.ROOT).contains("close");
        }

        private void readHead(String statusLine) throws IOException {
            if (!isStatusLine(statusLine)) {
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
            if (status < 200 || status == 204 || status == 304) {
                return InputStream.nullInputStream(); // never a body (RFC 9112 section 6.3)
            }
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
            delimitedEnd = body != in;
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

    /** {@code HTTP/1.0} or {@code HTTP/1.1}, a space, three digits, then the end or a space and a reason. */
    static boolean isStatusLine(String line) {
        if (line == null || line.length() < 12 || !line.startsWith("HTTP/1.") || (line.charAt(7) != '0' && line.charAt(7) != '1')
                || line.charAt(8) != ' ') {
            return false;
        }
        for (int i = 9; i < 12; i++) {
            if (line.charAt(i) < '0' || line.charAt(i) > '9') return false;
        }
        return line.length() == 12 || line.charAt(12) == ' ';
    }

    private static String abbreviate(String s) {
        if (s == null) {
            return "";
        }
        String printable = s.replaceAll("[^\\x20-\\x7e]", "?");
        return printable.length() <= 120 ? printable : printable.substring(0, 120) + "...";
    }
}
