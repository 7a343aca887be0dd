package io.aether.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * The one Jetty handler of a server: admits, routes, reads bodies under their limits and the
 * minimum rate, runs the route's handler on a virtual thread under its deadline, and writes
 * JSON answers and event streams. Exactly one answer is written per request: whoever claims
 * {@code answered} first (the handler's thread or the deadline) writes it.
 */
final class Dispatcher extends Handler.Abstract.NonBlocking {

    private static final Logger LOG = Logger.getLogger(Dispatcher.class.getName());
    private static final String JSON = "application/json";
    private static final byte[] NO_BODY = new byte[0];
    private static final String CONTENT_SECURITY_POLICY = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private final Router.Table routes;
    private final Limits limits;
    private final Counters counters;
    private final ConnectionGuard guard;
    private final ScheduledExecutorService timer;
    private final ExecutorService handlers = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("http-request-", 0).factory());
    private final Set<EventHub.Subscriber> streams = ConcurrentHashMap.newKeySet();
    private final AtomicLong incidents = new AtomicLong();
    private volatile boolean stopping;

    Dispatcher(Router.Table routes, Limits limits, Counters counters, ConnectionGuard guard, ScheduledExecutorService timer) {
        this.routes = routes;
        this.limits = limits;
        this.counters = counters;
        this.guard = guard;
        this.timer = timer;
    }

    @Override
    public boolean handle(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response, Callback callback) {
        Exchange x = new Exchange(request, response, callback);
        ConnectionGuard.Tracked tracked = x.tracked;
        if (tracked != null && tracked.refusal != null) {
            x.answer(tracked.refusal, true);
        } else if (stopping) {
            counters.refused(Stats.Refusal.STOPPING);
            x.answer(new ApiError.Unavailable("server is stopping", Duration.ofSeconds(1)), true);
        } else {
            try {
                handlers.execute(x::run);
            } catch (RejectedExecutionException stopped) {
                counters.refused(Stats.Refusal.STOPPING);
                x.answer(new ApiError.Unavailable("server is stopping", Duration.ofSeconds(1)), true);
            }
        }
        return true;
    }

    /** New requests are answered 503 from now on; every event stream ends cleanly. */
    void beginStop() {
        stopping = true;
        streams.forEach(s -> s.finish(EventHub.Subscriber.End.CLOSED));
    }

    /** Interrupts what still runs after the grace period. */
    void abandon() {
        handlers.shutdownNow();
    }

    /** One request, from admission to its last byte. */
    private final class Exchange {
        private final org.eclipse.jetty.server.Request request;
        private final org.eclipse.jetty.server.Response response;
        private final Callback callback;
        final ConnectionGuard.Tracked tracked;
        private final AtomicBoolean answered = new AtomicBoolean();
        private volatile Thread thread;
        /** Set when the body is refused unread: the rest of it would be taken for the next request. */
        private volatile boolean closeAfter;

        Exchange(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response, Callback callback) {
            this.request = request;
            this.response = response;
            this.callback = callback;
            this.tracked = guard.of(request.getConnectionMetaData().getConnection());
            counters.inFlight.incrementAndGet();
            if (tracked != null) {
                tracked.busy();
            }
        }

        void run() {
            thread = Thread.currentThread();
            // The idle timeout is the peer's: Jetty still fails a pending read or write with it, but
            // asks this when neither is pending, that is while the handler computes, which the
            // route's deadline bounds. Without it a handler working longer than the idle timeout
            // had its request failed under it and its answer mangled.
            request.addIdleTimeoutListener(timeout -> false);
            String path = Optional.ofNullable(request.getHttpURI().getDecodedPath()).orElse("/");
            switch (routes.match(request.getMethod(), path)) {
                case Router.Match.Refused r -> {
                    counters.refused(switch (r.error()) {
                        case ApiError.NotFound e -> Stats.Refusal.NO_ROUTE;
                        case ApiError.MethodNotAllowed e -> Stats.Refusal.METHOD;
                        default -> Stats.Refusal.BAD_REQUEST;
                    });
                    answer(r.error(), hasBody());
                }
                case Router.Match.Found f -> serve(f.route(), f.params(), path);
            }
        }

        private void serve(Route route, Map<String, String> params, String path) {
            Instant deadline = Instant.now().plus(route.deadline());
            ScheduledFuture<?> timeout = timer.schedule(() -> deadlinePassed(route.deadline()), route.deadline().toNanos(), TimeUnit.NANOSECONDS);
            try {
                BodyStream stream = route.streamed() ? new BodyStream(route.maxBodyBytes()) : null;
                byte[] body = stream == null ? readBody(route) : NO_BODY;
                counters.request();
                Request req = new Request(request.getMethod(), path, params, query(), body, peer(), deadline, request.getHeaders(), stream);
                Response r = route.handler().handle(req);
                timeout.cancel(false);
                switch (r) {
                    case Response.Json j -> send(j.status(), JSON, Json.write(j.body()));
                    case Response.Text t -> send(t.status(), t.contentType(), t.body().getBytes(StandardCharsets.UTF_8));
                    case Response.Empty e -> send(e.status(), null, NO_BODY);
                    case Response.Stream st -> sendStream(st, stream);
                    case Response.Events ev -> stream(ev);
                }
            } catch (ApiException e) {
                if (e.error() instanceof ApiError.BadRequest) {
                    counters.refused(Stats.Refusal.BAD_REQUEST);
                }
                answer(e.error(), false);
            } catch (PeerGone gone) {
                abort(gone.getCause());
            } catch (InterruptedException e) {
                // The deadline answered already, or the server stopped before the handler did.
                answer(new ApiError.Unavailable("server stopped before the request finished", Duration.ofSeconds(1)), true);
            } catch (Throwable t) {
                if (answered.get()) {
                    LOG.log(Level.FINE, "after its deadline, " + request.getMethod() + " " + path + " ended with", t);
                    return;
                }
                long incident = incidents.incrementAndGet();
                LOG.log(Level.WARNING, "incident " + incident + ": " + request.getMethod() + " " + path + " failed", t);
                counters.refused(Stats.Refusal.INTERNAL);
                answer(new ApiError.Internal(incident), false);
            } finally {
                timeout.cancel(false);
            }
        }

        private void deadlinePassed(Duration deadline) {
            if (answer(new ApiError.Unavailable("request deadline of " + seconds(deadline) + " passed", Duration.ofSeconds(1)), true)) {
                counters.refused(Stats.Refusal.DEADLINE);
                Thread t = thread;
                if (t != null) {
                    t.interrupt();
                }
            }
        }

        private boolean hasBody() {
            return request.getLength() > 0 || request.getLength() < 0 && request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
        }

        /** The whole body, within the route's limit, at no less than the minimum rate. */
        private byte[] readBody(Route route) throws InterruptedException {
            if (!hasBody()) {
                return NO_BODY;
            }
            long limit = route.maxBodyBytes();
            if (limit == 0) {
                throw refuse(Stats.Refusal.BODY_TOO_LARGE, new ApiError.PayloadTooLarge(route.method() + " " + route.template().text()
                        + " takes no request body"));
            }
            String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
            if (!isJson(type)) {
                throw refuse(Stats.Refusal.MEDIA_TYPE, new ApiError.UnsupportedMediaType("Content-Type must be application/json, got "
                        + (type == null ? "none" : "'" + abbreviate(type) + "'")));
            }
            long declared = request.getLength();
            if (declared > limit) {
                throw refuse(Stats.Refusal.BODY_TOO_LARGE, tooLarge(declared + " bytes", limit));
            }
            // Grown as bytes arrive: a declared length alone reserves no memory.
            ByteArrayOutputStream body = new ByteArrayOutputStream((int) Math.min(declared > 0 ? declared : 8192, 64 << 10));
            long start = System.nanoTime();
            long received = 0;
            while (true) {
                Content.Chunk chunk = nextChunk(received, start);
                if (Content.Chunk.isFailure(chunk)) {
                    throw new PeerGone(chunk.getFailure());
                }
                ByteBuffer data = chunk.getByteBuffer();
                received += data.remaining();
                if (received > limit) {
                    chunk.release();
                    throw refuse(Stats.Refusal.BODY_TOO_LARGE, tooLarge("more than " + limit + " bytes", limit));
                }
                byte[] bytes = new byte[data.remaining()];
                data.get(bytes);
                body.write(bytes, 0, bytes.length);
                boolean last = chunk.isLast();
                chunk.release();
                if (last) {
                    return body.toByteArray();
                }
                checkRate(received, start);
            }
        }

        /** The next chunk of the body, waiting for it no slower than the minimum rate. */
        private Content.Chunk nextChunk(long received, long start) throws InterruptedException {
            long checkMillis = guard.sweepPeriod().toMillis();
            while (true) {
                Content.Chunk chunk = request.read();
                if (chunk != null) {
                    return chunk;
                }
                CompletableFuture<Void> ready = new CompletableFuture<>();
                request.demand(() -> ready.complete(null));
                while (!ready.isDone()) {
                    try {
                        ready.get(checkMillis, TimeUnit.MILLISECONDS);
                    } catch (TimeoutException waiting) {
                        checkRate(received, start);
                    } catch (ExecutionException impossible) {
                        throw new IllegalStateException(impossible);
                    }
                }
            }
        }

        /**
         * A streamed route's body as it arrives, under the route's limit and the minimum rate
         * (measured over the time spent waiting for the peer only).
         * A refusal (too large, too slow) is counted once and closes the connection after the
         * answer; the handler sees it as an {@link IOException} and answers as it likes.
         */
        private final class BodyStream extends InputStream {
            private final long limit;
            /** Time spent waiting for the peer: what the handler spends computing is not the peer's to answer for. */
            private long waited;
            private long received;
            private Content.Chunk current;
            private boolean ended;
            private IOException failed;

            BodyStream(long limit) {
                this.limit = limit;
                ended = !hasBody();
            }

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                java.util.Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) {
                    return 0;
                }
                while (true) {
                    if (failed != null) {
                        throw failed;
                    }
                    if (current != null && current.getByteBuffer().hasRemaining()) {
                        ByteBuffer data = current.getByteBuffer();
                        int n = Math.min(len, data.remaining());
                        data.get(b, off, n);
                        return n;
                    }
                    if (current != null) {
                        ended = current.isLast();
                        current.release();
                        current = null;
                    }
                    if (ended) {
                        return -1;
                    }
                    fill();
                }
            }

            private void fill() throws IOException {
                Content.Chunk chunk;
                long waitStart = System.nanoTime();
                try {
                    chunk = nextChunk(received, waitStart - waited);
                } catch (ApiException slow) {
                    throw fail(new IOException(slow.error().message()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw fail(new InterruptedIOException("interrupted while reading the request body"));
                }
                if (Content.Chunk.isFailure(chunk)) {
                    throw fail(new IOException("the peer went away mid-body", chunk.getFailure()));
                }
                received += chunk.getByteBuffer().remaining();
                if (received > limit) {
                    chunk.release();
                    counters.refused(Stats.Refusal.BODY_TOO_LARGE);
                    throw fail(new Request.BodyTooLarge(limit));
                }
                waited += System.nanoTime() - waitStart;
                current = chunk;
                try {
                    checkRate(received, System.nanoTime() - waited);
                } catch (ApiException slow) {
                    throw fail(new IOException(slow.error().message()));
                }
            }

            private IOException fail(IOException e) {
                closeAfter = true;
                failed = e;
                return e;
            }

            /** Reads and drops the rest, up to the limit; whether the body ended cleanly. */
            boolean drain() {
                byte[] sink = new byte[8192];
                try {
                    while (read(sink, 0, sink.length) >= 0) {
                        // dropped: the answer is out, the peer only needs to finish sending
                    }
                    return true;
                } catch (IOException e) {
                    return false;
                }
            }

            @Override
            public void close() {
                if (current != null) {
                    current.release();
                    current = null;
                }
            }
        }

        private void checkRate(long received, long start) {
            if (guard.belowRate(received, System.nanoTime() - start)) {
                throw refuse(Stats.Refusal.SLOW_PEER, new ApiError.RequestTimeout("request body arrived slower than "
                        + limits.minDataRate() + " bytes/s"));
            }
        }

        private static ApiError tooLarge(String size, long limit) {
            return new ApiError.PayloadTooLarge("request body of " + size + " is over this route's limit of " + limit + " bytes");
        }

        private ApiException refuse(Stats.Refusal why, ApiError error) {
            counters.refused(why);
            closeAfter = true;
            return error.exception();
        }

        private Map<String, List<String>> query() {
            Fields fields;
            try {
                fields = org.eclipse.jetty.server.Request.extractQueryParameters(request);
            } catch (RuntimeException e) {
                throw new ApiError.BadRequest("query", "not a valid query string").exception();
            }
            var map = new java.util.HashMap<String, List<String>>();
            fields.forEach(f -> map.put(f.getName(), f.getValues()));
            return map;
        }

        private Peer peer() {
            var remote = request.getConnectionMetaData().getRemoteSocketAddress();
            String address = remote instanceof java.net.InetSocketAddress inet
                    ? (inet.getAddress() instanceof java.net.Inet6Address ? "[" + inet.getAddress().getHostAddress() + "]"
                            : inet.getAddress().getHostAddress()) + ":" + inet.getPort()
                    : "unix";
            EndPoint.SslSessionData tls = request.getConnectionMetaData().getConnection().getEndPoint().getSslSessionData();
            X509Certificate[] certs = tls == null ? null : tls.peerCertificates();
            boolean browser = HttpServer.BROWSER_CONNECTOR.equals(request.getConnectionMetaData().getConnector().getName());
            return new Peer(address, certs == null || certs.length == 0 ? Optional.empty() : Optional.of(certs[0]), browser);
        }

        private void send(int status, String contentType, byte[] body) {
            write(status, contentType, body, null, false);
        }

        /** Writes a handler's own body straight to the connection, then drops what is left of a streamed request's body. */
        private void sendStream(Response.Stream r, BodyStream body) throws IOException {
            if (!answered.compareAndSet(false, true)) {
                r.body().writeTo(OutputStream.nullOutputStream());
                return;
            }
            response.setStatus(r.status());
            var headers = response.getHeaders();
            headers.put(HttpHeader.CONTENT_TYPE, r.contentType());
            headers.put(HttpHeader.CACHE_CONTROL, "no-store");
            r.headers().forEach(headers::put);
            if (r.length() != Response.Stream.CHUNKED) {
                headers.put(HttpHeader.CONTENT_LENGTH, r.length());
            }
            if (closeAfter) {
                headers.put(HttpHeader.CONNECTION, "close");
            }
            counters.answered(r.status());
            try (OutputStream out = Content.Sink.asOutputStream(response)) {
                r.body().writeTo(out);
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.FINE, "the peer went away mid-answer", e);
                if (body != null) {
                    body.close();
                }
                done();
                callback.failed(e);
                return;
            }
            // Unread bytes left on a closed connection reset it: the peer could lose the answer.
            if (body != null && !closeAfter && !body.drain()) {
                closeAfter = true;
            }
            if (body != null) {
                body.close();
            }
            done();
            callback.succeeded();
        }

        /** Answers {@code error}; false when an answer was written already. */
        boolean answer(ApiError error, boolean close) {
            return write(ApiError.status(error), JSON, Json.error(error), error, close || closeAfter);
        }

        private boolean write(int status, String contentType, byte[] body, ApiError error, boolean close) {
            if (!answered.compareAndSet(false, true)) {
                return false;
            }
            response.setStatus(status);
            var headers = response.getHeaders();
            if (contentType != null) {
                headers.put(HttpHeader.CONTENT_TYPE, contentType);
            }
            headers.put(HttpHeader.CACHE_CONTROL, "no-store");
            // A browser may open these servers (the fabric's dashboard): nothing they answer runs inline script, loads from elsewhere or is framed.
            headers.put("Content-Security-Policy", CONTENT_SECURITY_POLICY);
            headers.put("X-Content-Type-Options", "nosniff");
            switch (error) {
                case ApiError.MethodNotAllowed m -> headers.put(HttpHeader.ALLOW, String.join(", ", new java.util.TreeSet<>(m.allowed())));
                case ApiError.TooManyRequests t -> headers.put(HttpHeader.RETRY_AFTER, retryAfter(t.retryAfter()));
                case ApiError.Unavailable u -> headers.put(HttpHeader.RETRY_AFTER, retryAfter(u.retryAfter()));
                case null, default -> { }
            }
            if (close) {
                headers.put(HttpHeader.CONNECTION, "close");
            }
            counters.answered(status);
            response.write(true, ByteBuffer.wrap(body), completion());
            return true;
        }

        /** Completes the request: the connection is idle again and the request no longer in flight. */
        private Callback completion() {
            return Callback.from(() -> {
                done();
                callback.succeeded();
            }, failure -> {
                done();
                callback.failed(failure);
            });
        }

        private void done() {
            counters.inFlight.decrementAndGet();
            if (tracked != null) {
                tracked.idle();
            }
        }

        private void abort(Throwable cause) {
            if (answered.compareAndSet(false, true)) {
                done();
                callback.failed(cause);
            }
        }

        /** Streams events until the hub, the server or the peer ends it. */
        private void stream(Response.Events events) throws InterruptedException {
            if (!answered.compareAndSet(false, true)) {
                return;
            }
            EventHub.Subscriber sub = events.hub().subscribe(events.replay());
            streams.add(sub);
            if (stopping) {
                sub.finish(EventHub.Subscriber.End.CLOSED);
            }
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
            counters.answered(200);
            try {
                push(": stream\n\n".getBytes(StandardCharsets.US_ASCII)); // commits the head: the client knows it is subscribed
                while (true) {
                    switch (sub.next(limits.heartbeat())) {
                        case EventHub.Subscriber.Next.Send s -> push(s.event().encode());
                        case EventHub.Subscriber.Next.Heartbeat h -> push(":\n\n".getBytes(StandardCharsets.US_ASCII));
                        case EventHub.Subscriber.Next.Finished f -> {
                            if (f.why() == EventHub.Subscriber.End.CLOSED) {
                                response.write(true, ByteBuffer.allocate(0), completion());
                            } else {
                                lost(sub, new IOException("event stream " + f.why().name().toLowerCase(Locale.ROOT)));
                            }
                            return;
                        }
                    }
                }
            } catch (IOException | InterruptedException e) {
                lost(sub, e);
            } finally {
                streams.remove(sub);
            }
        }

        /** A stream that ends without its last chunk: the peer is gone or was dropped; its connection is closed. */
        private void lost(EventHub.Subscriber sub, Throwable cause) {
            if (sub.dropped()) {
                counters.refused(Stats.Refusal.SLOW_EVENT_CLIENT);
            }
            sub.finish(EventHub.Subscriber.End.GONE);
            done();
            callback.failed(cause);
        }

        /** A blocking write; interrupted when the client is dropped. */
        private void push(byte[] bytes) throws IOException, InterruptedException {
            Callback.Completable written = new Callback.Completable();
            response.write(false, ByteBuffer.wrap(bytes), written);
            try {
                written.get();
            } catch (ExecutionException e) {
                throw new IOException("event stream write failed", e.getCause());
            }
        }
    }

    /** The peer failed or closed mid-body: nothing can be answered. */
    private static final class PeerGone extends RuntimeException {
        PeerGone(Throwable cause) {
            super(cause);
        }
    }

    private static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        String mediaType = contentType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        return mediaType.equals(JSON);
    }

    private static String retryAfter(Duration d) {
        return Long.toString(Math.max(1, (d.toMillis() + 999) / 1000));
    }

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    private static String abbreviate(String s) {
        String printable = s.replaceAll("[^\\x20-\\x7e]", "?");
        return printable.length() <= 64 ? printable : printable.substring(0, 64) + "...";
    }
}
