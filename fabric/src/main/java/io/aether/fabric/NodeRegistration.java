package io.aether.fabric;

import io.aether.agentapi.JoinRequest;
import io.aether.common.ByteSize;
import io.aether.fabricapi.Node;
import io.aether.fabricapi.Resources;
import io.aether.security.KeyId;
import io.aether.security.Signatures;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * A node's join ({@code POST /v1/nodes}): its ML-DSA-65 key must sign the request, so a node
 * proves it holds the identity the fabric records; then the join token admits it (one-time,
 * unexpired) in one replicated command that records the node, its key and uses the token up. A
 * refusal of any kind is logged and counted and records nothing.
 */
final class NodeRegistration {

    private static final Logger LOG = Logger.getLogger(NodeRegistration.class.getName());

    private final JoinTokens tokens;
    private final AtomicLong refused = new AtomicLong();

    NodeRegistration(JoinTokens tokens) {
        this.tokens = tokens;
    }

    /** Admits the node or says why not; nothing is recorded on a refusal. */
    Outcome join(JoinRequest request) throws IOException {
        Node node;
        try {
            PublicKey key = Signatures.requireKey(decode(request.keyBytes()), "key");
            String problem = Signatures.problem(key, request.signedBytes(), request.signatureBytes());
            if (problem != null) return refuse(request, "signature: " + problem);
            node = new Node(request.name(), new TreeMap<>(request.labels()), new Resources(request.vcpus(), new ByteSize(request.memory())),
                    Node.Status.READY);
        } catch (IllegalArgumentException e) {
            return refuse(request, e.getMessage());
        }
        Outcome outcome = tokens.join(request.token(), node, request.key());
        if (outcome instanceof Outcome.Refused(String reason)) return refuse(request, reason);
        LOG.info(() -> "node " + request.name() + " joined with key " + keyId(request.key()));
        return outcome;
    }

    /** Joins refused since this controller started. */
    long refused() {
        return refused.get();
    }

    /** The SHA-256 of the key's X.509 bytes in hex, as {@code aether} prints key ids. */
    static String keyId(String base64Key) {
        try {
            return KeyId.of(decode(Base64.getDecoder().decode(base64Key))).hex();
        } catch (IllegalArgumentException e) {
            return "(unreadable key)";
        }
    }

    private Outcome refuse(JoinRequest request, String reason) {
        refused.incrementAndGet();
        LOG.warning(() -> "join of node '" + printable(request.name()) + "' refused: " + reason);
        return new Outcome.Refused(reason);
    }

    static PublicKey decode(byte[] x509) {
        try {
            return KeyFactory.getInstance("ML-DSA").generatePublic(new X509EncodedKeySpec(x509));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("key: not an ML-DSA public key (" + e.getMessage() + ")");
        }
    }

    private static String printable(String text) {
        String cut = text.length() > 64 ? text.substring(0, 64) + "..." : text;
        return cut.replaceAll("[^ -~]", "?");
    }
}
