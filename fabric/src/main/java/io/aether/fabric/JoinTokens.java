package io.aether.fabric;

import io.aether.agentapi.JoinToken;
import io.aether.fabricapi.Node;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * One-time, expiring join tokens ({@code aether token create --ttl 1h}). The secret is shown once,
 * to whoever creates the token; the replicated state keeps only its SHA-256, so neither a
 * snapshot nor a log entry lets anyone join. Using a token is a replicated command that records
 * the node and uses the token up together: across the whole group a token admits one node, and a
 * refused join (unknown, used, expired) leaves no record.
 */
final class JoinTokens {

    static final Duration MIN_TTL = Duration.ofSeconds(10);
    static final Duration MAX_TTL = Duration.ofDays(7);
    /** Marks the text as an Aether join token, so a pasted wrong secret is recognised as such. */
    static final String PREFIX = JoinToken.PREFIX;
    /** 256 bits from the system's strong source. */
    private static final int SECRET_BYTES = 32;

    /**
     * A token just created.
     *
     * @param secret what the node presents to join; shown once and never stored
     * @param expires when it stops admitting a node
     */
    record Issued(String secret, Instant expires) {
        Issued {
            Objects.requireNonNull(secret, "secret");
            Objects.requireNonNull(expires, "expires");
        }

        @Override
        public String toString() {
            return "join token (expires " + expires + ")";
        }
    }

    private final ReplicatedFabric fabric;
    private final Clock clock;
    private final SecureRandom random;
    /** The SHA-256 of this controller's TLS certificate, which each token carries so that a node can authenticate the controller. */
    private final Optional<String> controllerFingerprint;

    JoinTokens(ReplicatedFabric fabric, Clock clock, SecureRandom random) {
        this(fabric, clock, random, Optional.empty());
    }

    JoinTokens(ReplicatedFabric fabric, Clock clock, SecureRandom random, Optional<String> controllerFingerprint) {
        this.fabric = fabric;
        this.clock = clock;
        this.random = random;
        this.controllerFingerprint = controllerFingerprint;
    }

    /**
     * Creates a token that admits one node until {@code ttl} from now; from a controller with a TLS
     * listener it ends in {@code .} and that listener's certificate fingerprint ({@link JoinToken}).
     */
    Issued create(Duration ttl) throws IOException {
        if (ttl.compareTo(MIN_TTL) < 0 || ttl.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException("ttl: " + ttl.toSeconds() + "s is out of range (" + MIN_TTL.toSeconds() + "s to " + MAX_TTL.toDays() + "d)");
        }
        byte[] bytes = new byte[SECRET_BYTES];
        random.nextBytes(bytes);
        String secret = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes) + controllerFingerprint.map(f -> "." + f).orElse("");
        Instant now = clock.instant();
        Instant expires = now.plus(ttl);
        if (fabric.propose(new Command.CreateToken(hash(secret), expires, now)) instanceof Outcome.Refused(String reason)) {
            throw new IOException("the token was not created: " + reason);
        }
        return new Issued(secret, expires);
    }

    /**
     * Records {@code node} with its public key (base64) if {@code secret} is a token that is known,
     * unused and unexpired, and uses it up; else refuses and changes nothing.
     */
    Outcome join(String secret, Node node, String key) throws IOException {
        if (!secret.startsWith(PREFIX) || secret.length() > 200) return new Outcome.Refused("not an Aether join token");
        return fabric.propose(new Command.JoinNode(hash(secret), node, key, clock.instant()));
    }

    /** The SHA-256 of the secret's UTF-8 bytes in lower-case hex: what the state keeps. */
    static String hash(String secret) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
