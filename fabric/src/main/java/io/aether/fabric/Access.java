package io.aether.fabric;

import io.aether.http.ApiError;
import io.aether.http.ApiException;
import io.aether.http.Request;
import io.aether.http.Router;
import java.security.cert.CertificateException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * What each caller may do through the controller's API, checked before every route's handler:
 * the Unix socket and pinned administrators everything; a node with its certificate only its own
 * desired state and reports; a client identity what its role allows (read: every GET; operate:
 * also running and stopping jobs and draining nodes; admin: everything, tokens, revocation and
 * client identities included); a TLS client without a certificate only a node's registration
 * ({@code POST /v1/nodes}, authenticated by its token and signature). On the browser listener
 * ({@code --dashboard}) the page and its files are public and every other request needs a
 * dashboard session ({@code Authorization: Bearer TOKEN}, {@link Sessions}) and has that
 * session's role; an unknown, ended or expired token is a 401. A refusal is a 403 naming what the
 * request needs, logged and counted.
 */
final class Access implements Router.Guard {

    private static final Logger LOG = Logger.getLogger(Access.class.getName());

    /** What a route asks of its caller. */
    enum Need {
        /** The dashboard's page and files, and the API document: the same for everyone, no data in them. */
        PUBLIC,
        /** Anyone reaching the listener: the request authenticates itself. */
        ANYONE,
        /** The node the path names, with its certificate. */
        NODE,
        READ,
        OPERATE,
        ADMIN
    }

    private final FabricTrust trust;
    private final Sessions sessions;
    private final AtomicLong refused = new AtomicLong();

    Access(FabricTrust trust, Sessions sessions) {
        this.trust = trust;
        this.sessions = sessions;
    }

    /** Reads are for readers; jobs and draining for operators; the rest (tokens, revocation, anything new) for administrators. */
    static Need need(String method, String template) {
        return switch (method + " " + template) {
            case "GET /", "GET /ui/{file}", "GET /openapi.json" -> Need.PUBLIC;
            case "POST /v1/nodes" -> Need.ANYONE;
            case "GET /v1/nodes/{name}/desired", "POST /v1/nodes/{name}/reports" -> Need.NODE;
            case "POST /v1/jobs", "DELETE /v1/jobs/{name}", "POST /v1/nodes/{name}/drain" -> Need.OPERATE;
            default -> method.equals("GET") ? Need.READ : Need.ADMIN;
        };
    }

    @Override
    public void admit(String method, String template, Request request) throws ApiException {
        Need need = need(method, template);
        // Stopping a job is an operator's; deleting its volumes with it deletes data, an administrator's.
        if (need == Need.OPERATE && method.equals("DELETE") && template.equals("/v1/jobs/{name}")
                && request.query("purgeVolumes").filter("true"::equals).isPresent()) {
            need = Need.ADMIN;
        }
        if (need == Need.PUBLIC) return;
        if (request.peer().browser()) {
            admitSession(method, template, request, need);
            return;
        }
        FabricTrust.Caller caller;
        try {
            caller = trust.caller(request.peer());
        } catch (CertificateException e) {
            throw refuse(method, template, request, "certificate refused: " + e.getMessage());
        }
        switch (caller) {
            case FabricTrust.Caller.Local local -> { }
            case FabricTrust.Caller.Pinned admin -> { }
            case FabricTrust.Caller.Anonymous anonymous -> {
                if (need != Need.ANYONE) {
                    throw refuse(method, template, request, "needs a client certificate of the fabric" + (need == Need.NODE ? " (a node's)" : " with role " + name(need)));
                }
            }
            case FabricTrust.Caller.ClientCaller(String client, Need role) -> {
                if (need == Need.ANYONE) return;
                if (need == Need.NODE) throw refuse(method, template, request, "client " + client + " is not a node");
                if (role.compareTo(need) < 0) throw refuse(method, template, request, "client " + client + " has role " + name(role) + "; this needs role " + name(need));
            }
            case FabricTrust.Caller.NodeCaller(String node) -> {
                if (need == Need.ANYONE) return;
                if (need != Need.NODE) throw refuse(method, template, request, "node " + node + " may not; this needs role " + name(need));
                if (!node.equals(request.param("name"))) throw refuse(method, template, request, "node " + node + " may only use its own desired state and reports");
            }
        }
    }

    /** A browser listener's request: its bearer token's session, with that session's role. */
    private void admitSession(String method, String template, Request request, Need need) {
        String authorization = request.header("Authorization").orElse("");
        boolean bearer = authorization.regionMatches(true, 0, "Bearer ", 0, 7);
        Sessions.Session session = sessions.find(bearer ? authorization.substring(7).strip() : "").orElseThrow(() -> new ApiError.Unauthorized(bearer
                ? "the session token is unknown, ended or expired: log in again"
                : "log in: this listener needs a dashboard session (Authorization: Bearer TOKEN)").exception());
        String who = "session " + session.id();
        if (need == Need.NODE) throw refuse(method, template, request, who + " is not a node");
        // A session cannot mint or end sessions: a stolen token must not outlive its expiry.
        if (template.startsWith("/v1/sessions")) {
            throw refuse(method, template, request, who + " may not manage sessions; use the controller's socket or a client identity");
        }
        if (need != Need.ANYONE && session.role().compareTo(need) < 0) {
            throw refuse(method, template, request, who + " has role " + name(session.role()) + "; this needs role " + name(need));
        }
    }

    /** Requests refused since this controller started. */
    long refused() {
        return refused.get();
    }

    private static String name(Need need) {
        return need.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The role a client certificate's OU names ({@code read}, {@code operate}, {@code admin}), if it names one. */
    static java.util.Optional<Need> role(String unit) {
        return switch (unit) {
            case "read" -> java.util.Optional.of(Need.READ);
            case "operate" -> java.util.Optional.of(Need.OPERATE);
            case "admin" -> java.util.Optional.of(Need.ADMIN);
            default -> java.util.Optional.empty();
        };
    }

    private ApiException refuse(String method, String template, Request request, String reason) {
        refused.incrementAndGet();
        LOG.warning(() -> method + " " + template + " from " + request.peer().address() + " refused: " + reason);
        return new ApiError.Forbidden(reason).exception();
    }
}
