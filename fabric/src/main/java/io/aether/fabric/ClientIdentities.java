package io.aether.fabric;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.http.ApiError;
import io.aether.http.Request;
import io.aether.http.Response;
import io.aether.http.Router;
import io.aether.security.CertificateAuthority;
import io.aether.security.KeyId;
import io.aether.security.Signatures;
import java.io.IOException;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Client identities ({@code aether client create|revoke}): the client makes its ML-DSA-65 key
 * itself and sends only the public half; the controller records the name, role and key id (a
 * replicated {@code AddClient}) and answers with a certificate of that key from its CA.
 *
 * <pre>
 * GET  /v1/clients                {"clients": [{"name", "role", "keyId", "revoked"}]}
 * POST /v1/clients                {"name", "role": "read"|"operate"|"admin", "key": base64 X.509}; 201 {"client", "role", "certificate", "authority", "controller"?}
 * POST /v1/clients/{name}/revoke  200 {"client": NAME, "revoked": true}; 404 for an unknown client
 * </pre>
 */
final class ClientIdentities {

    private static final Logger LOG = Logger.getLogger(ClientIdentities.class.getName());

    private final ReplicatedFabric fabric;
    private final FabricTrust trust;
    private final Clock clock;
    /** The SHA-256 of this controller's TLS certificate, which a client pins; none without a TLS listener. */
    private final Optional<String> tlsFingerprint;

    ClientIdentities(ReplicatedFabric fabric, FabricTrust trust, Clock clock, Optional<String> tlsFingerprint) {
        this.fabric = fabric;
        this.trust = trust;
        this.clock = clock;
        this.tlsFingerprint = tlsFingerprint;
    }

    Router mount(Router router) {
        return router.get("/v1/clients", this::list)
                .add("POST", "/v1/clients", this::create, 16 * 1024, Duration.ofSeconds(30))
                .add("POST", "/v1/clients/{name}/revoke", this::revoke, 0, Duration.ofSeconds(30));
    }

    private Response list(Request req) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        var rows = out.putArray("clients");
        fabric.readLocal(s -> {
            s.clients.forEach((name, c) -> rows.addObject().put("name", name).put("role", c.role()).put("keyId", c.keyId()).put("revoked", c.revoked()));
            return null;
        });
        return new Response.Json(200, out);
    }

    private Response create(Request req) throws IOException {
        JsonNode body = req.body(JsonNode.class);
        String name = body.path("name").asText("");
        String role = body.path("role").asText("");
        PublicKey key;
        try {
            key = Signatures.requireKey(NodeRegistration.decode(Base64.getDecoder().decode(body.path("key").asText(""))), "key");
        } catch (IllegalArgumentException e) {
            throw new ApiError.BadRequest("key", e.getMessage().replaceFirst("^key: ", "")).exception();
        }
        Command.AddClient add;
        try {
            add = new Command.AddClient(name, role, KeyId.of(key).hex(), clock.instant());
        } catch (IllegalArgumentException e) {
            String message = e.getMessage();
            int colon = message.indexOf(": ");
            throw new ApiError.BadRequest(message.substring(0, colon), message.substring(colon + 2)).exception();
        }
        if (!trust.record()) throw new ApiError.Unavailable("this controller cannot issue certificates now; try another", Duration.ofSeconds(5)).exception();
        if (fabric.propose(add) instanceof Outcome.Refused(String reason)) throw new ApiError.Conflict(reason).exception();
        LOG.info(() -> "client " + name + " created with role " + role);
        ObjectNode out = JsonNodeFactory.instance.objectNode().put("client", name).put("role", role)
                .put("certificate", CertificateAuthority.pem(trust.issueClient(name, role, key)))
                .put("authority", CertificateAuthority.pem(trust.authorityCertificate()));
        tlsFingerprint.ifPresent(f -> out.put("controller", f));
        return new Response.Json(201, out);
    }

    private Response revoke(Request req) throws IOException {
        String name = req.param("name");
        if (fabric.propose(new Command.RevokeClient(name, clock.instant())) instanceof Outcome.Refused(String reason)) {
            throw new ApiError.NotFound(reason).exception();
        }
        LOG.info(() -> "client " + name + " revoked");
        return new Response.Json(200, JsonNodeFactory.instance.objectNode().put("client", name).put("revoked", true));
    }
}
