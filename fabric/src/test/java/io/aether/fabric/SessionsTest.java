package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Dashboard sessions: what is kept of them, their expiry on an injected clock, ending them, and their bound. */
@Timeout(10)
class SessionsTest {

    /** A clock the test moves. */
    private static final class Hands extends Clock {
        Instant now = Instant.parse("2026-12-06T12:00:00Z");

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    private final Hands clock = new Hands();
    private final Sessions sessions = new Sessions(clock, new SecureRandom(), 3);

    @Test
    void aTokenMapsToItsRoleUntilItExpires() {
        Sessions.Issued operate = sessions.create(Access.Need.OPERATE, Duration.ofMinutes(10));
        Sessions.Issued read = sessions.create(Access.Need.READ, Duration.ofMinutes(20));
        assertTrue(operate.token().matches("aether-session-[A-Za-z0-9_-]{43}"), operate.token());
        assertEquals(Instant.parse("2026-12-06T12:10:00Z"), operate.expires());
        assertEquals(Access.Need.OPERATE, sessions.find(operate.token()).orElseThrow().role());
        assertEquals(Access.Need.READ, sessions.find(read.token()).orElseThrow().role());

        clock.now = Instant.parse("2026-12-06T12:09:59Z");
        assertTrue(sessions.find(operate.token()).isPresent());
        clock.now = Instant.parse("2026-12-06T12:10:00Z");
        assertEquals(Optional.empty(), sessions.find(operate.token()), "expired at its expiry");
        assertEquals(1, sessions.refused());
        assertEquals(Access.Need.READ, sessions.find(read.token()).orElseThrow().role(), "the other one still lives");
        assertEquals(1, sessions.live());
    }

    @Test
    void keepsOnlyTheTokensHashAndNamesTheSessionByItsPrefix() throws Exception {
        Sessions.Issued issued = sessions.create(Access.Need.ADMIN, Duration.ofMinutes(1));
        String sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(issued.token().getBytes(StandardCharsets.US_ASCII)));
        assertEquals(sha256.substring(0, 16), issued.id());
        Sessions.Session kept = sessions.find(issued.token()).orElseThrow();
        assertEquals(sha256, HexFormat.of().formatHex(kept.tokenHash()));
        assertFalse(kept.toString().contains(issued.token().substring(Sessions.PREFIX.length())), "the secret is not kept: " + kept);
        assertFalse(issued.toString().contains(issued.token()), "nor logged: " + issued);
    }

    @Test
    void endedUnknownAndMalformedTokensAreRefusedAndCounted() {
        Sessions.Issued issued = sessions.create(Access.Need.OPERATE, Duration.ofMinutes(1));
        String other = issued.token().substring(0, issued.token().length() - 1) + (issued.token().endsWith("A") ? "B" : "A");
        assertEquals(Optional.empty(), sessions.find(other), "one character off");
        assertEquals(Optional.empty(), sessions.find(""));
        assertEquals(Optional.empty(), sessions.find("aether-join-" + issued.token().substring(Sessions.PREFIX.length())));
        assertEquals(3, sessions.refused());
        assertTrue(sessions.end(issued.id()));
        assertEquals(Optional.empty(), sessions.find(issued.token()), "ended");
        assertFalse(sessions.end(issued.id()), "already ended");
        assertEquals(4, sessions.refused());
    }

    @Test
    void boundsTheLiveSessionsAndTheirLifetime() {
        for (int i = 0; i < 3; i++) sessions.create(Access.Need.READ, Duration.ofMinutes(1));
        IllegalStateException full = assertThrows(IllegalStateException.class, () -> sessions.create(Access.Need.READ, Duration.ofMinutes(1)));
        assertTrue(full.getMessage().startsWith("3 sessions are live"), full.getMessage());
        clock.now = clock.now.plus(Duration.ofMinutes(1));
        assertNotEquals(null, sessions.create(Access.Need.READ, Duration.ofMinutes(1)), "expired ones make room");
        assertEquals("ttlSeconds: 3601 is out of range (10 to 3600)",
                assertThrows(IllegalArgumentException.class, () -> sessions.create(Access.Need.READ, Duration.ofSeconds(3601))).getMessage());
        assertEquals("ttlSeconds: 9 is out of range (10 to 3600)",
                assertThrows(IllegalArgumentException.class, () -> sessions.create(Access.Need.READ, Duration.ofSeconds(9))).getMessage());
        assertEquals(1, sessions.live());
    }
}
