package io.aether.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class LimitsTest {

    @Test
    void limitsAreCheckedWithMessagesNamingThem() {
        assertEquals("max connections must be 1..100000, got 0",
                assertThrows(IllegalArgumentException.class, () -> Limits.DEFAULTS.withMaxConnections(0, 1)).getMessage());
        assertEquals("max connections per client must be 1..max connections (4), got 5",
                assertThrows(IllegalArgumentException.class, () -> Limits.DEFAULTS.withMaxConnections(4, 5)).getMessage());
        assertEquals("min data rate must be at least 1 byte/s, got 0",
                assertThrows(IllegalArgumentException.class, () -> Limits.DEFAULTS.withMinDataRate(0, Duration.ofSeconds(1))).getMessage());
        assertEquals("rate grace must be positive, got PT0S",
                assertThrows(IllegalArgumentException.class, () -> Limits.DEFAULTS.withMinDataRate(10, Duration.ZERO)).getMessage());
        assertEquals("heartbeat (PT15S) must be shorter than the idle timeout (PT10S)",
                assertThrows(IllegalArgumentException.class, () -> Limits.DEFAULTS.withIdleTimeout(Duration.ofSeconds(10))).getMessage());
        assertEquals("stop grace must be zero or more, got PT-1S",
                assertThrows(IllegalArgumentException.class, () -> Limits.DEFAULTS.withStopGrace(Duration.ofSeconds(-1))).getMessage());
    }

    @Test
    void listenersAndRoutesAreChecked() {
        assertEquals("a certificate fingerprint is 64 lower-case hex digits: 'ABC'",
                assertThrows(IllegalArgumentException.class, () -> new Listener.ClientAuth.Pinned(Set.of("ABC"))).getMessage());
        assertEquals("mutual TLS needs at least one client certificate fingerprint",
                assertThrows(IllegalArgumentException.class, () -> new Listener.ClientAuth.Pinned(Set.of())).getMessage());
        assertEquals("route body limit must be 0..67108864, got 67108865", assertThrows(IllegalArgumentException.class,
                () -> new Router().add("POST", "/v1/x", req -> null, (64 << 20) + 1, Duration.ofSeconds(1))).getMessage());
        assertEquals("route method must be GET, POST, PUT, PATCH or DELETE, got TRACE", assertThrows(IllegalArgumentException.class,
                () -> new Router().add("TRACE", "/v1/x", req -> null, 0, Duration.ofSeconds(1))).getMessage());
        assertEquals("a response answers 2xx (errors are ApiErrors), got 404",
                assertThrows(IllegalArgumentException.class, () -> new Response.Json(404, "x")).getMessage());
    }
}
