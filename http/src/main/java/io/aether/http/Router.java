package io.aether.http;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Routes requests by method and path template. Routes added with {@link #get}, {@link #post},
 * {@link #put} and {@link #delete} take the server's {@link Limits}: GET and DELETE accept no
 * body, POST and PUT up to {@link Limits#maxBodyBytes}. {@link #add} sets a route's own limits.
 * A path that no template matches is a 404, a path matched only under other methods a 405 with
 * {@code Allow}; both are JSON errors like every other.
 */
public final class Router {

    /** Set when the server starts: routes added without limits of their own take the server's. */
    private record Pending(String method, String template, Handler handler, Long maxBodyBytes, Duration deadline, boolean streamed) { }

    /**
     * Decides, before its handler runs, whether a request may use the route it matched (by the
     * route's method and template, and who sent it: {@link Request#peer}); throws an
     * {@link ApiException} (a 403, say) to refuse it.
     */
    @FunctionalInterface
    public interface Guard {
        void admit(String method, String template, Request request) throws ApiException;
    }

    private final List<Pending> pending = new ArrayList<>();
    private Guard guard = (method, template, request) -> { };

    /** Every route, those added before as well as after, passes {@code guard} first. */
    public Router guardedBy(Guard guard) {
        this.guard = java.util.Objects.requireNonNull(guard, "guard");
        return this;
    }

    public Router get(String template, Handler handler) {
        return pend(new Pending("GET", template, handler, 0L, null, false));
    }

    public Router post(String template, Handler handler) {
        return pend(new Pending("POST", template, handler, null, null, false));
    }

    public Router put(String template, Handler handler) {
        return pend(new Pending("PUT", template, handler, null, null, false));
    }

    public Router delete(String template, Handler handler) {
        return pend(new Pending("DELETE", template, handler, 0L, null, false));
    }

    /** A route with its own body limit (bytes, 0 for none) and deadline. */
    public Router add(String method, String template, Handler handler, long maxBodyBytes, Duration deadline) {
        return pend(new Pending(method, template, handler, maxBodyBytes, deadline, false));
    }

    /**
     * A route whose handler reads the body itself, as it arrives, from {@link Request#bodyStream}:
     * any media type, up to {@code maxBodyBytes} (which may exceed {@link Limits#MAX_BODY_LIMIT},
     * up to {@link Limits#MAX_STREAMED_BODY_LIMIT}), at no less than the minimum rate. What the
     * handler leaves unread is read and dropped (up to the limit) after its answer, so that the
     * peer gets the answer rather than a reset connection.
     */
    public Router stream(String method, String template, Handler handler, long maxBodyBytes, Duration deadline) {
        return pend(new Pending(method, template, handler, maxBodyBytes, deadline, true));
    }

    /** Each route as {@code METHOD TEMPLATE} ("GET /v1/jobs/{name}"), in the order added: what an API document has to describe. */
    public List<String> routes() {
        return pending.stream().map(p -> p.method + " " + p.template).toList();
    }

    private Router pend(Pending p) {
        // Checked now, so that a bad template fails where it is written.
        Route route = resolve(p, Limits.DEFAULTS, guard);
        for (Pending q : pending) {
            if (q.method.equals(p.method) && PathTemplate.parse(q.template).sameShape(route.template())) {
                throw new IllegalArgumentException("routes " + p.method + " " + q.template + " and " + p.template + " match the same paths");
            }
        }
        pending.add(p);
        return this;
    }

    private static Route resolve(Pending p, Limits limits, Guard guard) {
        Handler guarded = request -> {
            guard.admit(p.method, p.template, request);
            return p.handler.handle(request);
        };
        return new Route(p.method, PathTemplate.parse(p.template), guarded,
                p.maxBodyBytes != null ? p.maxBodyBytes : limits.maxBodyBytes(),
                p.deadline != null ? p.deadline : limits.requestDeadline(), p.streamed);
    }

    /** The routes with the server's limits filled in. */
    Table table(Limits limits) {
        return new Table(pending.stream().map(p -> resolve(p, limits, guard)).toList());
    }

    /** What a request's method and path select. */
    sealed interface Match {
        record Found(Route route, Map<String, String> params) implements Match { }

        record Refused(ApiError error) implements Match { }
    }

    /** An immutable routing table. */
    record Table(List<Route> routes) {

        Table {
            routes = List.copyOf(routes);
        }

        /** Routes {@code method} and the decoded {@code path} ("/a/b"). */
        Match match(String method, String path) {
            List<String> segments = path.length() > 1 && path.startsWith("/") ? List.of(path.substring(1).split("/", -1)) : List.of();
            Route best = null;
            TreeSet<String> allowed = new TreeSet<>();
            for (Route r : routes) {
                if (!r.template().matches(segments)) {
                    continue;
                }
                if (!r.method().equals(method)) {
                    allowed.add(r.method());
                } else if (best == null || r.template().specificity(best.template()) > 0) {
                    best = r;
                }
            }
            if (best != null) {
                try {
                    return new Match.Found(best, best.template().params(segments));
                } catch (ApiException e) {
                    return new Match.Refused(e.error());
                }
            }
            if (!allowed.isEmpty()) {
                return new Match.Refused(new ApiError.MethodNotAllowed(method + " is not allowed here; allowed: " + String.join(", ", allowed), allowed));
            }
            return new Match.Refused(new ApiError.NotFound("no route for " + method + " " + abbreviate(path)));
        }

        private static String abbreviate(String path) {
            return path.length() <= 128 ? path : path.substring(0, 128) + "...";
        }
    }
}
