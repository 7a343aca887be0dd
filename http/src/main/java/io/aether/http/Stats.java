package io.aether.http;

import java.util.Map;

/**
 * What a server has done since it started.
 *
 * @param requests    requests routed to a handler
 * @param responses   responses by status code, refusals included
 * @param refusals    refusals by kind
 * @param connections connections being served now
 * @param inFlight    requests whose response is not complete
 */
public record Stats(long requests, Map<Integer, Long> responses, Map<Refusal, Long> refusals, int connections, int inFlight) {

    public Stats {
        responses = Map.copyOf(responses);
        refusals = Map.copyOf(refusals);
    }

    public long refused(Refusal kind) {
        return refusals.getOrDefault(kind, 0L);
    }

    public long answered(int status) {
        return responses.getOrDefault(status, 0L);
    }

    /** Why a server refused a peer or a request (the stack's own limits; handlers' errors are counted by status). */
    public enum Refusal {
        /** 503: {@link Limits#maxConnections} connections were open. */
        CONNECTIONS,
        /** 429: {@link Limits#maxConnectionsPerClient} connections were open from the same address. */
        CONNECTIONS_PER_CLIENT,
        /** Closed (head, TLS handshake) or 408 (body): under {@link Limits#minDataRate}. */
        SLOW_PEER,
        /** 503: the route's deadline passed before the handler answered. */
        DEADLINE,
        /** 413: a body over the route's limit. */
        BODY_TOO_LARGE,
        /** 415: a body that is not application/json. */
        MEDIA_TYPE,
        /** 400: a body that is not valid JSON or does not fit the handler's type, or a bad path parameter. */
        BAD_REQUEST,
        /** 404: no route for the path. */
        NO_ROUTE,
        /** 405: the path has routes under other methods only. */
        METHOD,
        /** 400 or 431 from the HTTP parser: a malformed request, an ambiguous path, headers too large. */
        MALFORMED,
        /** A TLS handshake that failed: no or an unknown client certificate, no common group or version. */
        TLS_HANDSHAKE,
        /** 503: a request that arrived while the server was stopping. */
        STOPPING,
        /** An event-stream client that fell a whole queue behind and was dropped. */
        SLOW_EVENT_CLIENT,
        /** 500: a handler failed; the log holds the cause. */
        INTERNAL
    }
}
