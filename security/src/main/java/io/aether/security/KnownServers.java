package io.aether.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The trust-on-first-use pins: a text file of {@code host:port sha256-hex} lines (like SSH's
 * known_hosts). Rewritten atomically when a server is added.
 */
public final class KnownServers {

    private final Path file;

    public KnownServers(Path file) {
        this.file = file.toAbsolutePath();
    }

    public Path file() {
        return file;
    }

    /** The pinned fingerprint of {@code hostPort}, if any. */
    public synchronized Optional<String> lookup(String hostPort) throws IOException {
        return Optional.ofNullable(read().get(hostPort));
    }

    /** Pins {@code fingerprint} for {@code hostPort} unless a pin exists; returns the pin in force. */
    synchronized String pinIfAbsent(String hostPort, String fingerprint) throws IOException {
        Map<String, String> all = read();
        String existing = all.get(hostPort);
        if (existing != null) {
            return existing;
        }
        all.put(hostPort, fingerprint);
        StringBuilder sb = new StringBuilder("# aether: pinned TLS server certificates (host:port sha256)\n");
        all.forEach((k, v) -> sb.append(k).append(' ').append(v).append('\n'));
        KeyFiles.writeAtomically(file, sb.toString().getBytes(StandardCharsets.UTF_8), false);
        return fingerprint;
    }

    private Map<String, String> read() throws IOException {
        Map<String, String> map = new LinkedHashMap<>();
        if (!Files.exists(file)) {
            return map;
        }
        int n = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            n++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String[] parts = t.split("\\s+");
            if (parts.length != 2 || !parts[1].matches("[0-9a-f]{64}")) {
                throw new IOException(file + ":" + n + ": expected 'host:port sha256-hex', got '" + t + "'");
            }
            map.put(parts[0], parts[1]);
        }
        return map;
    }
}
