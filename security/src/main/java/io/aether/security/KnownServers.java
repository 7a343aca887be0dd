package io.aether.security;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The trust-on-first-use pins: a text file of {@code host:port sha256-hex} lines (like SSH's
 * known_hosts). Rewritten atomically when a server is added, under a lock file so that two
 * clients pinning different servers at once, in one process or in two, both keep their pin.
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
    public Optional<String> lookup(String hostPort) throws IOException {
        return Optional.ofNullable(read().get(hostPort));
    }

    /** One monitor per pin file in this JVM: a process may hold a POSIX file lock only once. */
    private static final ConcurrentHashMap<Path, Object> IN_PROCESS = new ConcurrentHashMap<>();

    /** Pins {@code fingerprint} for {@code hostPort} unless a pin exists; returns the pin in force. */
    String pinIfAbsent(String hostPort, String fingerprint) throws IOException {
        synchronized (IN_PROCESS.computeIfAbsent(file, f -> new Object())) {
            Files.createDirectories(file.getParent());
            Path lockFile = file.resolveSibling(file.getFileName() + ".lock");
            try (FileChannel lock = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                lock.lock();
                return pinLocked(hostPort, fingerprint);
            }
        }
    }

    private String pinLocked(String hostPort, String fingerprint) throws IOException {
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
