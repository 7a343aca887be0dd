package io.aether.agentapi;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A node asking the controllers to admit it ({@code POST /v1/nodes}): what it offers, the one-time
 * join token, and its ML-DSA-65 identity with a signature that proves the node holds the private
 * half. The signature covers the token too, so a captured request cannot admit another key, and
 * the token is used up by the first join, so replaying the request is refused.
 *
 * @param name the node's name in the fabric
 * @param labels what job constraints match against
 * @param vcpus the vCPUs it offers
 * @param memory the guest memory it offers, in bytes
 * @param token the join token ({@code aether token create})
 * @param key the node's public key, X.509 (SubjectPublicKeyInfo) in base64
 * @param signature ML-DSA-65 over {@link #signedBytes()}, in base64
 */
public record JoinRequest(String name, Map<String, String> labels, int vcpus, long memory, String token, String key, String signature) {

    /** An ML-DSA-65 public key is 1,952 bytes, its X.509 form a few more; a signature 3,309 bytes. */
    static final int MAX_BASE64 = 8192;
    static final int MAX_TOKEN = 200;

    public JoinRequest {
        Objects.requireNonNull(name, "name");
        labels = new TreeMap<>(Names.requireLabels(labels == null ? Map.of() : labels));
        if (vcpus < 1) throw new IllegalArgumentException("vcpus: " + vcpus + " is less than 1");
        if (memory < 1) throw new IllegalArgumentException("memory: " + memory + " is less than 1 byte");
        requireText("token", token, MAX_TOKEN);
        requireText("key", key, MAX_BASE64);
        requireText("signature", signature, MAX_BASE64);
    }

    /** What the signature covers: a fixed context, then every field but the signature, one per line. */
    public byte[] signedBytes() {
        return signedBytes(name, labels, vcpus, memory, token, key);
    }

    /** What a node signs to make a request of these fields (labels in key order). */
    public static byte[] signedBytes(String name, Map<String, String> labels, int vcpus, long memory, String token, String key) {
        StringBuilder text = new StringBuilder("aether-node-join-v1\n").append(name).append('\n');
        new TreeMap<>(labels).forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
        text.append(vcpus).append('\n').append(memory).append('\n').append(token).append('\n').append(key).append('\n');
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The key's bytes; an {@code IllegalArgumentException} naming {@code key} if it is not base64. */
    public byte[] keyBytes() {
        return decode("key", key);
    }

    public byte[] signatureBytes() {
        return decode("signature", signature);
    }

    private static byte[] decode(String field, String text) {
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": not base64");
        }
    }

    private static void requireText(String field, String value, int max) {
        if (value == null || value.isEmpty()) throw new IllegalArgumentException(field + ": missing");
        if (value.length() > max) throw new IllegalArgumentException(field + ": over " + max + " characters");
    }
}
