package io.aether.security;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The author keys this machine accepts. Either backed by a directory holding one
 * {@code <keyid>.pub} PEM file per key, or in memory (tests, embedding).
 */
public final class TrustStore {

    private final Path dir;
    private final Map<KeyId, PublicKey> keys = new ConcurrentHashMap<>();

    private TrustStore(Path dir) {
        this.dir = dir;
    }

    /** An in-memory store holding {@code keys}; a key that is not ML-DSA-65 is refused. */
    public static TrustStore of(PublicKey... keys) {
        TrustStore ts = new TrustStore(null);
        for (PublicKey k : keys) {
            PublicKey strict = Signatures.requireKey(k, "trusted key " + KeyId.of(k).shortHex());
            ts.keys.put(KeyId.of(strict), strict);
        }
        return ts;
    }

    /** The store in {@code dir} (created when the first key is trusted). */
    public static TrustStore at(Path dir) throws IOException {
        TrustStore ts = new TrustStore(dir);
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : (Iterable<Path>) files.filter(p -> p.getFileName().toString().endsWith(".pub"))::iterator) {
                    PublicKey k = KeyFiles.readPublic(f);
                    KeyId id = KeyId.of(k);
                    if (!f.getFileName().toString().equals(id.hex() + ".pub")) {
                        throw new IOException(f + ": file name does not match the key id " + id.hex());
                    }
                    ts.keys.put(id, k);
                }
            }
        }
        return ts;
    }

    /** The store of the user's {@link AetherHome}. */
    public static TrustStore defaultStore() throws IOException {
        return at(AetherHome.resolve().trustDir());
    }

    /** Accepts {@code key} (ML-DSA-65 only); persisted when the store has a directory. Returns its id. */
    public KeyId trust(PublicKey key) throws IOException {
        PublicKey strict = Signatures.requireKey(key, "key " + KeyId.of(key).shortHex());
        KeyId id = KeyId.of(strict);
        if (dir != null) {
            KeyFiles.writePublic(dir.resolve(id.hex() + ".pub"), strict);
        }
        keys.put(id, strict);
        return id;
    }

    /** The trusted key with this id, if any. */
    public Optional<PublicKey> find(KeyId id) {
        return Optional.ofNullable(keys.get(id));
    }

    /** The trusted key with this id; {@link UntrustedKeyException} naming the id otherwise. */
    public PublicKey require(KeyId id, String context) {
        PublicKey k = keys.get(id);
        if (k == null) {
            throw new UntrustedKeyException(id, context);
        }
        return k;
    }

    /** The ids of all trusted keys, sorted. */
    public List<KeyId> keyIds() {
        List<KeyId> ids = new ArrayList<>(keys.keySet());
        ids.sort((a, b) -> a.hex().compareTo(b.hex()));
        return ids;
    }
}
