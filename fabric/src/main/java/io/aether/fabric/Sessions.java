package io.aether.fabric;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Dashboard logins of this controller ({@code POST /v1/sessions}): a 256-bit bearer token shown
 * once, of which only the SHA-256, the role and the expiry are kept, in this controller's memory
 * and never in the replicated state, so that no log entry or snapshot holds a usable secret and a
 * restart logs everyone out. A session's id is the first 16 hex digits of that hash: not secret,
 * enough to end the session, and whoever holds the token can work it out.
 */
final class Sessions {

    private static final Logger LOG = Logger.getLogger(Sessions.class.getName());
    static final Duration MIN_TTL = Duration.ofSeconds(10);
    static final Duration MAX_TTL = Duration.ofHours(1);
    /** Live sessions at most: each is a few hundred bytes, and an administrator needs a handful. */
    static final int MAX_LIVE = 1_000;
    /** Marks the text as an Aether dashboard token, so a pasted join token is recognised as the wrong kind. */
    static final String PREFIX = "aether-session-";
    private static final int SECRET_BYTES = 32;
    private static final int ID_HEX_DIGITS = 16;

    /** A session just created: {@code token} is shown this once. */
    record Issued(String id, String token, Access.Need role, Instant expires) {
        Issued {
            Objects.requireNonNull(token, "token");
        }

        @Override
        public String toString() {
            return "session " + id + " (" + role + ", expires " + expires + ")";
        }
    }

    /** What is kept of a session: never its token. */
    record Session(String id, byte[] tokenHash, Access.Need role, Instant expires) { }

    private final Clock clock;
    private final SecureRandom random;
    private final int maxLive;
    private final Map<String, Session> live = new ConcurrentHashMap<>();
    private final AtomicLong refused = new AtomicLong();

    Sessions(Clock clock, SecureRandom random, int maxLive) {
        this.clock = clock;
        this.random = random;
        this.maxLive = maxLive;
    }

    /**
     * A new session with {@code role} for {@code ttl}.
     *
     * @throws IllegalArgumentException naming {@code ttlSeconds} when out of range
     * @throws IllegalStateException when {@link #MAX_LIVE} sessions are live
     */
    synchronized Issued create(Access.Need role, Duration ttl) {
        if (ttl.compareTo(MIN_TTL) < 0 || ttl.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException("ttlSeconds: " + ttl.toSeconds() + " is out of range (" + MIN_TTL.toSeconds() + " to " + MAX_TTL.toSeconds() + ")");
        }
        Instant now = clock.instant();
        live.values().removeIf(s -> !now.isBefore(s.expires()));
        if (live.size() >= maxLive) {
            throw new IllegalStateException(live.size() + " sessions are live, the most this controller keeps; end one (DELETE /v1/sessions/{id}) or wait for one to expire");
        }
        byte[] bytes = new byte[SECRET_BYTES];
        random.nextBytes(bytes);
        String token = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        byte[] hash = sha256(token);
        String id = id(hash);
        Session session = new Session(id, hash, role, now.plus(ttl));
        live.put(id, session);
        LOG.info(() -> "session " + id + " created: role " + role.name().toLowerCase(java.util.Locale.ROOT) + " until " + session.expires());
        return new Issued(id, token, role, session.expires());
    }

    /** The live session {@code token} belongs to; an unknown, malformed or expired token is counted. */
    Optional<Session> find(String token) {
        if (token.length() != PREFIX.length() + 43 || !token.startsWith(PREFIX)) return refuse("not a session token");
        byte[] hash = sha256(token);
        Session session = live.get(id(hash));
        // The id only picks the candidate; the whole hash decides, compared in constant time.
        if (session == null || !MessageDigest.isEqual(session.tokenHash(), hash)) return refuse("unknown or ended session");
        if (!clock.instant().isBefore(session.expires())) {
            live.remove(session.id(), session);
            return refuse("session " + session.id() + " expired at " + session.expires());
        }
        return Optional.of(session);
    }

    /** Ends session {@code id}; false if none such is live. */
    boolean end(String id) {
        Session ended = live.remove(id);
        if (ended != null) LOG.info(() -> "session " + id + " ended");
        return ended != null && clock.instant().isBefore(ended.expires());
    }

    /** Requests with a session token that was unknown, malformed, ended or expired, since this controller started. */
    long refused() {
        return refused.get();
    }

    /** Sessions not yet expired or ended. */
    int live() {
        Instant now = clock.instant();
        return (int) live.values().stream().filter(s -> now.isBefore(s.expires())).count();
    }

    private Optional<Session> refuse(String why) {
        refused.incrementAndGet();
        LOG.warning(() -> "dashboard request refused: " + why);
        return Optional.empty();
    }

    private static String id(byte[] hash) {
        return HexFormat.of().formatHex(hash).substring(0, ID_HEX_DIGITS);
    }

    private static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
