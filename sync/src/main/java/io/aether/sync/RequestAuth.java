package io.aether.sync;

import io.aether.security.Identity;
import io.aether.security.KeyId;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * The signature a client puts on each sync request (sync/README.md, "Authorisation"):
 * <pre>
 * Authorization: Aether-ML-DSA-65 key=KEYID, time=MILLIS, nonce=HEX32, body=SHA256HEX, sig=BASE64
 * </pre>
 * {@code sig} is the client key's ML-DSA-65 signature over
 * {@code "aether-sync-request-v1\n" SERVER "\n" METHOD "\n" PATH "\n" MILLIS "\n" NONCE "\n" BODY "\n"},
 * where SERVER is the SHA-256 fingerprint of the server's certificate (so a request signed for
 * one server is refused by every other) and BODY the SHA-256 of the request body. The server
 * checks the signature before it reads the body and the body against BODY after.
 */
final class RequestAuth {

    static final String SCHEME = "Aether-ML-DSA-65";
    static final String HEADER = "Authorization";
    /** How far a request's time may be from the server's clock; the server remembers nonces this long each way. */
    static final Duration MAX_SKEW = Duration.ofMinutes(5);
    private static final int MAX_HEADER_CHARS = 8192;

    private RequestAuth() {
    }

    /**
     * The parts of an Authorization header.
     *
     * @param key        the client key
     * @param timeMillis when the client signed
     * @param nonce      32 hex digits, never used twice
     * @param bodySha256 the body's SHA-256, 64 hex digits
     * @param signature  ML-DSA-65 over {@link #signedBytes}
     */
    record Claim(KeyId key, long timeMillis, String nonce, String bodySha256, byte[] signature) {

        String header() {
            return SCHEME + " key=" + key.hex() + ", time=" + timeMillis + ", nonce=" + nonce + ", body=" + bodySha256
                    + ", sig=" + Base64.getEncoder().encodeToString(signature);
        }

        /**
         * Parses a header.
         *
         * @throws IllegalArgumentException saying what is wrong with it
         */
        static Claim parse(String header) {
            if (header.length() > MAX_HEADER_CHARS) {
                throw new IllegalArgumentException("longer than " + MAX_HEADER_CHARS + " characters");
            }
            if (!header.startsWith(SCHEME + " ")) {
                throw new IllegalArgumentException("expected the scheme " + SCHEME);
            }
            Map<String, String> f = new HashMap<>();
            for (String part : header.substring(SCHEME.length() + 1).split(",")) {
                int eq = part.indexOf('=');
                if (eq <= 0 || f.put(part.substring(0, eq).strip(), part.substring(eq + 1).strip()) != null) {
                    throw new IllegalArgumentException("malformed or repeated field '" + part.strip() + "'");
                }
            }
            for (String name : new String[] {"key", "time", "nonce", "body", "sig"}) {
                if (!f.containsKey(name)) {
                    throw new IllegalArgumentException("no " + name + "= field");
                }
            }
            if (f.size() != 5) {
                throw new IllegalArgumentException("unknown fields besides key, time, nonce, body and sig");
            }
            if (!f.get("time").matches("[0-9]{1,15}")) {
                throw new IllegalArgumentException("time= is not a number of milliseconds");
            }
            if (!f.get("nonce").matches("[0-9a-f]{32}")) {
                throw new IllegalArgumentException("nonce= is not 32 lower-case hex digits");
            }
            if (!f.get("body").matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("body= is not a SHA-256 in lower-case hex");
            }
            byte[] sig;
            try {
                sig = Base64.getDecoder().decode(f.get("sig"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("sig= is not base64");
            }
            return new Claim(new KeyId(requireKeyHex(f.get("key"))), Long.parseLong(f.get("time")), f.get("nonce"),
                    f.get("body"), sig);
        }

        private static String requireKeyHex(String s) {
            if (!s.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("key= is not a key id (64 lower-case hex digits)");
            }
            return s;
        }
    }

    /** What the client signs. */
    static byte[] signedBytes(String serverFingerprint, String method, String path, long timeMillis, String nonce, String bodySha256) {
        return ("aether-sync-request-v1\n" + serverFingerprint + "\n" + method + "\n" + path + "\n" + timeMillis + "\n" + nonce
                + "\n" + bodySha256 + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** Signs a request now with a fresh nonce. */
    static Claim sign(Identity client, String serverFingerprint, String method, String path, byte[] body, long nowMillis,
                      SecureRandom random) {
        byte[] n = new byte[16];
        random.nextBytes(n);
        String nonce = HexFormat.of().formatHex(n);
        String bodySha256 = sha256Hex(body);
        byte[] sig = client.sign(signedBytes(serverFingerprint, method, path, nowMillis, nonce, bodySha256));
        return new Claim(client.keyId(), nowMillis, nonce, bodySha256, sig);
    }

    static String sha256Hex(byte[] body) {
        return HexFormat.of().formatHex(ObjectId.sha256().digest(body == null ? new byte[0] : body));
    }
}
