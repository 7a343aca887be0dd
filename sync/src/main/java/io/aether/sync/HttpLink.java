package io.aether.sync;

import io.aether.security.Tls;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A minimal HTTP/1.1 client (RFC 9112) over Aether's TLS: one connection per request (closed once
 * the answer is read), request bodies sent whole with Content-Length (their hash is signed, see
 * {@link RequestAuth}), responses framed by Content-Length, chunked, or by the connection's end.
 * The JDK's HttpClient is not used because it does not pass the named-group restriction on to
 * the TLS engine, so it could not guarantee X25519MLKEM768; this client also counts the bytes on
 * the wire (below TLS) and the payload bytes (HTTP bodies).
 */
final class HttpLink {

    private static final int MAX_HEADER_BYTES = 64 * 1024;

    private final String host;
    private final int port;
    private final String basePath;
    private final SSLContext tls;
    private final int timeoutMillis;
    private final Signer signer;
    long wireSent;
    long wireReceived;
    long payloadSent;
    long payloadReceived;

    /** Makes a request's Authorization header; null sends requests unsigned. */
    @FunctionalInterface
    interface Signer {
        String authorization(String serverFingerprint, String method, String path, byte[] body);
    }

    HttpLink(URI url, SSLContext tls, int timeoutMillis) {
        this(url, tls, timeoutMillis, null);
    }

    HttpLink(URI url, SSLContext tls, int timeoutMillis, Signer signer) {
        if (!"https".equalsIgnoreCase(url.getScheme()) || url.getHost() == null) {
            throw new IllegalArgumentException("remote URL must be https://HOST:PORT, got '" + url + "'");
        }
        this.host = url.getHost();
        this.port = url.getPort() < 0 ? 443 : url.getPort();
        String p = url.getRawPath() == null ? "" : url.getRawPath();
        this.basePath = p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
        this.tls = tls;
        this.timeoutMillis = timeoutMillis;
        this.signer = signer;
    }

    /** Whether requests are signed. */
    boolean signs() {
        return signer != null;
    }

    String hostPort() {
        return host + ":" + port;
    }

    /** A response whose body must be read (or the response closed). */
    final class Response implements AutoCloseable {
        final int status;
        final InputStream body;
        private final SSLSocket socket;
        private final Wire.CountingInputStream counted;

        private Response(int status, InputStream body, SSLSocket socket, Wire.CountingInputStream counted) {
            this.status = status;
            this.body = body;
            this.socket = socket;
            this.counted = counted;
        }

        /** The whole body as text (for errors and small answers), at most 64 KiB. */
        String text() throws IOException {
            return new String(body.readNBytes(MAX_HEADER_BYTES), StandardCharsets.UTF_8).strip();
        }

        @Override
        public void close() throws IOException {
            payloadReceived += counted.count;
            socket.close();
        }
    }

    /** Sends a request ({@code body} null: none); the caller reads and closes the response. */
    Response send(String method, String path, String contentType, byte[] body) throws IOException {
        Socket raw = new Socket() {
            // Below TLS: what travels on the wire, handshake and record overhead included.
            private Wire.CountingInputStream in;
            private Wire.CountingOutputStream out;

            @Override
            public synchronized InputStream getInputStream() throws IOException {
                if (in == null) {
                    in = new Wire.CountingInputStream(super.getInputStream());
                }
                return in;
            }

            @Override
            public synchronized OutputStream getOutputStream() throws IOException {
                if (out == null) {
                    out = new Wire.CountingOutputStream(super.getOutputStream());
                }
                return out;
            }

            @Override
            public synchronized void close() throws IOException {
                if (out != null) {
                    wireSent += out.count;
                    out.count = 0;
                }
                if (in != null) {
                    wireReceived += in.count;
                    in.count = 0;
                }
                super.close();
            }
        };
        SSLSocket s;
        try {
            raw.connect(new InetSocketAddress(host, port), timeoutMillis);
            raw.setSoTimeout(timeoutMillis);
            s = Tls.handshake(tls, raw, host, port);
        } catch (IOException | RuntimeException e) {
            raw.close();
            throw e;
        }
        try {
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), 1 << 16);
            StringBuilder head = new StringBuilder();
            head.append(method).append(' ').append(basePath).append(path).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(hostPort()).append("\r\n")
                    .append("User-Agent: aether-sync\r\n");
            // No "Connection: close": the connection is closed after the answer all the same, but a
            // server told to close may end a body of unknown length by closing, and then a body cut
            // short by a failure would look complete. Kept open, it must frame it (chunked).
            if (signer != null) {
                String server = Tls.fingerprint((X509Certificate) s.getSession().getPeerCertificates()[0]);
                head.append(RequestAuth.HEADER).append(": ").append(signer.authorization(server, method, basePath + path, body))
                        .append("\r\n");
            }
            if (body != null) {
                head.append("Content-Type: ").append(contentType).append("\r\n")
                        .append("Content-Length: ").append(body.length).append("\r\n");
            }
            head.append("\r\n");
            out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
            if (body != null) {
                out.write(body);
                payloadSent += body.length;
            }
            out.flush();
            InputStream in = new BufferedInputStream(s.getInputStream(), 1 << 16);
            String status = readLine(in);
            String[] parts = status.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new IOException("not an HTTP response from " + hostPort() + ": '" + status + "'");
            }
            int code;
            try {
                code = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                throw new IOException("bad HTTP status line from " + hostPort() + ": '" + status + "'");
            }
            Map<String, String> headers = new HashMap<>();
            int total = 0;
            for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
                total += line.length();
                if (total > MAX_HEADER_BYTES) {
                    throw new IOException("response headers from " + hostPort() + " are too large");
                }
                int colon = line.indexOf(':');
                if (colon > 0) {
                    headers.put(line.substring(0, colon).strip().toLowerCase(Locale.ROOT), line.substring(colon + 1).strip());
                }
            }
            InputStream framed;
            if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                framed = new ChunkedInputStream(in);
            } else if (headers.containsKey("content-length")) {
                long len;
                try {
                    len = Long.parseLong(headers.get("content-length"));
                } catch (NumberFormatException e) {
                    len = -1;
                }
                if (len < 0) {
                    throw new IOException("bad Content-Length from " + hostPort() + ": '" + headers.get("content-length") + "'");
                }
                framed = new BoundedInputStream(in, len);
            } else {
                framed = in; // RFC 9112, 6.3: a response without a length ends when the connection closes
            }
            Wire.CountingInputStream counted = new Wire.CountingInputStream(framed);
            return new Response(code, counted, s, counted);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException("connection closed in the middle of an HTTP header");
            }
            if (c == '\n') {
                break;
            }
            if (b.size() >= MAX_HEADER_BYTES) {
                throw new IOException("HTTP header line too long");
            }
            b.write(c);
        }
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /** A response body framing: single bytes are read through {@link #read(byte[], int, int)}. */
    private abstract static class BodyInputStream extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }
    }

    /** Chunked transfer coding, reader side; a connection cut mid-body is an EOFException. */
    static final class ChunkedInputStream extends BodyInputStream {
        private final InputStream in;
        private long left;
        private boolean done;

        ChunkedInputStream(InputStream in) {
            this.in = in;
        }

        private boolean next() throws IOException {
            if (done) {
                return false;
            }
            if (left > 0) {
                return true;
            }
            String line = readLine(in);
            int semi = line.indexOf(';');
            String hex = (semi >= 0 ? line.substring(0, semi) : line).strip();
            try {
                left = Long.parseLong(hex, 16);
            } catch (NumberFormatException e) {
                throw new IOException("bad chunk size '" + line + "'");
            }
            if (left < 0 || left > Integer.MAX_VALUE) {
                throw new IOException("bad chunk size '" + line + "'");
            }
            if (left == 0) {
                String trailer;
                do {
                    trailer = readLine(in); // trailer fields carry nothing this protocol uses
                } while (!trailer.isEmpty());
                done = true;
                return false;
            }
            return true;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!next()) {
                return -1;
            }
            int k = in.read(b, off, (int) Math.min(len, left));
            if (k < 0) {
                throw new EOFException("connection closed in the middle of a response");
            }
            left -= k;
            if (left == 0) {
                if (in.read() != '\r' || in.read() != '\n') {
                    throw new IOException("malformed chunk terminator");
                }
            }
            return k;
        }
    }

    /** Exactly {@code len} bytes; a shorter stream is an EOFException. */
    static final class BoundedInputStream extends BodyInputStream {
        private final InputStream in;
        private long left;

        BoundedInputStream(InputStream in, long len) {
            this.in = in;
            this.left = len;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) {
                return -1;
            }
            if (len == 0) {
                return 0;
            }
            int k = in.read(b, off, (int) Math.min(len, left));
            if (k < 0) {
                throw new EOFException("connection closed " + left + " bytes before the end of a response");
            }
            left -= k;
            return k;
        }
    }
}
