package io.aether.http;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A raw connection to a Unix-socket server, for requests no well-behaved client would send. */
final class Raw implements AutoCloseable {

    /** An answer as it came off the wire. */
    record Answer(int status, Map<String, String> headers, String body) { }

    private final SocketChannel channel;
    private final StringBuilder received = new StringBuilder();

    Raw(Path socket) throws IOException {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
    }

    Raw send(String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            channel.write(b);
        }
        return this;
    }

    /** Sends {@code text} one byte at a time, {@code gap} apart; stops early (false) when the server closes. */
    boolean trickle(String text, Duration gap) throws InterruptedException {
        for (byte x : text.getBytes(StandardCharsets.UTF_8)) {
            try {
                channel.write(ByteBuffer.wrap(new byte[] {x}));
            } catch (IOException closed) {
                return false;
            }
            Thread.sleep(gap);
        }
        return true;
    }

    /** Reads until the server closes or {@code within} passes; returns what came. */
    String readToEnd(Duration within) throws Exception {
        return within(within, () -> {
            ByteBuffer buf = ByteBuffer.allocate(8192);
            try {
                while (channel.read(buf.clear()) >= 0) {
                    received.append(new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
                }
            } catch (IOException reset) {
                // a reset ends the stream too
            }
            return received.toString();
        });
    }

    /** Reads one answer with a Content-Length body, leaving the connection open. */
    Answer readAnswer(Duration within) throws Exception {
        return within(within, () -> {
            ByteBuffer buf = ByteBuffer.allocate(8192);
            while (true) {
                String text = received.toString();
                int end = text.indexOf("\r\n\r\n");
                if (end >= 0) {
                    Answer head = parse(text.substring(0, end + 4));
                    int length = Integer.parseInt(head.headers().getOrDefault("content-length", "0"));
                    if (text.length() >= end + 4 + length) {
                        received.delete(0, end + 4 + length);
                        return parse(text.substring(0, end + 4 + length));
                    }
                }
                if (channel.read(buf.clear()) < 0) {
                    throw new AssertionError("closed before a whole answer; received: '" + received + "'");
                }
                received.append(new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
            }
        });
    }

    /** Runs a read; past {@code limit} the connection is closed and the test fails with what came so far. */
    private <T> T within(Duration limit, Callable<T> read) throws Exception {
        try (var ex = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<T> f = ex.submit(read);
            try {
                return f.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                channel.close();
                throw new AssertionError("the server did not answer and close within " + limit + "; received: " + received, e);
            } catch (ExecutionException e) {
                throw new AssertionError(e.getCause());
            }
        }
    }

    /** Parses one answer with a Content-Length body from {@code text}. */
    static Answer parse(String text) {
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) {
            throw new AssertionError("no complete answer head in: '" + text + "'");
        }
        String[] lines = text.substring(0, end).split("\r\n");
        Map<String, String> headers = new HashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, colon).toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).strip());
        }
        int status = Integer.parseInt(lines[0].substring(9, 12));
        String body = text.substring(end + 4);
        String length = headers.get("content-length");
        if (length != null) {
            body = body.substring(0, Math.min(body.length(), Integer.parseInt(length)));
        }
        return new Answer(status, headers, body);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
