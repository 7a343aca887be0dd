package io.aether.sync;

import io.aether.security.KeyId;
import io.aether.security.TrustStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Who may do what on a served repository: the file {@code access} in its store, and the client
 * keys it names in {@code access-keys/KEYID.pub}. The file is
 * <pre>
 * aether-access 1
 * repository 3f0c...        (32 hex digits, made once: signed ref updates name it)
 * KEYID read,write,force    (one line per client key)
 * </pre>
 * Rights: {@code read} (list refs, download), {@code write} (upload objects; create a branch or
 * fast-forward it), {@code force} (also move a branch to a commit that does not contain its
 * current one, and, with {@code tag}, move a tag), {@code tag} (create a tag). {@code write}
 * implies {@code read}; {@code force} and {@code tag} imply {@code write}. Changes are written
 * atomically; a running server reads the file again when it changes.
 */
public final class AccessList {

    /** What a client key may do. */
    public enum Right {
        READ, WRITE, FORCE, TAG;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One client key and its rights. */
    public record Grant(KeyId key, Set<Right> rights) {
        public Grant {
            rights = Collections.unmodifiableSet(EnumSet.copyOf(rights));
        }
    }

    static final String FILE = "access";
    static final String KEYS_DIR = "access-keys";
    private static final String HEADER = "aether-access 1";
    private static final Comparator<KeyId> KEY_ORDER = Comparator.comparing(KeyId::hex);

    private final String repositoryId;
    private final Map<KeyId, Set<Right>> grants;
    private final TrustStore keys;

    private AccessList(String repositoryId, Map<KeyId, Set<Right>> grants, TrustStore keys) {
        this.repositoryId = repositoryId;
        this.grants = grants;
        this.keys = keys;
    }

    /** The access list of {@code repo}; made (empty, with a new repository id) if it has none. */
    public static AccessList load(Repository repo) throws IOException {
        try (RepoLock.Held _ = lock(repo)) {
            return loadUnlocked(repo);
        }
    }

    private static AccessList loadUnlocked(Repository repo) throws IOException {
        Path file = repo.storeDir().resolve(FILE);
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            byte[] id = new byte[16];
            new SecureRandom().nextBytes(id);
            AccessList fresh = new AccessList(HexFormat.of().formatHex(id), new TreeMap<>(KEY_ORDER), TrustStore.of());
            fresh.save(repo);
            return fresh;
        }
        if (lines.isEmpty() || !lines.getFirst().strip().equals(HEADER)) {
            throw new RepositoryException("access list " + file + " does not start with '" + HEADER + "'");
        }
        String repositoryId = null;
        Map<KeyId, Set<Right>> grants = new TreeMap<>(KEY_ORDER);
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split(" +");
            String where = file + " line " + (i + 1);
            if (f.length != 2) {
                throw new RepositoryException(where + ": expected 'KEYID RIGHTS' or 'repository ID', got '" + line + "'");
            }
            if (f[0].equals("repository")) {
                if (!f[1].matches("[0-9a-f]{32}") || repositoryId != null) {
                    throw new RepositoryException(where + ": bad or repeated repository id '" + f[1] + "'");
                }
                repositoryId = f[1];
                continue;
            }
            KeyId key;
            try {
                key = new KeyId(f[0]);
                grants.put(key, parseRights(f[1]));
            } catch (IllegalArgumentException e) {
                throw new RepositoryException(where + ": " + e.getMessage());
            }
        }
        if (repositoryId == null) {
            throw new RepositoryException("access list " + file + " has no 'repository ID' line");
        }
        TrustStore keys = TrustStore.at(repo.storeDir().resolve(KEYS_DIR));
        for (KeyId k : grants.keySet()) {
            if (keys.find(k).isEmpty()) {
                throw new RepositoryException("access list " + file + " names key " + k.hex() + ", which is not in "
                        + repo.storeDir().resolve(KEYS_DIR) + "; grant it again with its public key file");
            }
        }
        return new AccessList(repositoryId, grants, keys);
    }

    private static RepoLock.Held lock(Repository repo) throws IOException {
        return RepoLock.of(repo.storeDir().resolve("access.lock")).exclusive();
    }

    /**
     * Parses {@code read,write,...}, adding what each right implies.
     *
     * @throws IllegalArgumentException naming an unknown right
     */
    public static Set<Right> parseRights(String text) {
        Set<Right> rights = EnumSet.noneOf(Right.class);
        for (String r : text.split(",", -1)) {
            Right right = switch (r.strip().toLowerCase(Locale.ROOT)) {
                case "read" -> Right.READ;
                case "write" -> Right.WRITE;
                case "force" -> Right.FORCE;
                case "tag" -> Right.TAG;
                default -> throw new IllegalArgumentException("unknown right '" + r.strip() + "' (rights: read, write, force, tag)");
            };
            rights.add(right);
        }
        if (rights.contains(Right.FORCE) || rights.contains(Right.TAG)) {
            rights.add(Right.WRITE);
        }
        if (rights.contains(Right.WRITE)) {
            rights.add(Right.READ);
        }
        return rights;
    }

    /** {@code read,write,...} in a fixed order. */
    public static String format(Set<Right> rights) {
        return rights.stream().sorted().map(Right::label).collect(Collectors.joining(","));
    }

    /** A random id made when the list was made; signed ref updates name it, so they are good for this repository only. */
    public String repositoryId() {
        return repositoryId;
    }

    /** Every grant, by key id. */
    public List<Grant> grants() {
        List<Grant> out = new ArrayList<>();
        grants.forEach((k, r) -> out.add(new Grant(k, r)));
        return out;
    }

    /** The rights of {@code key}; empty when it is not on the list. */
    public Set<Right> rightsOf(KeyId key) {
        Set<Right> r = grants.get(key);
        return r == null ? Set.of() : Collections.unmodifiableSet(r);
    }

    /** The public key of a client on the list. */
    public Optional<PublicKey> key(KeyId id) {
        return grants.containsKey(id) ? keys.find(id) : Optional.empty();
    }

    /** Gives {@code key} exactly {@code rights} (replacing what it had); stores the key beside the list. */
    public static AccessList grant(Repository repo, PublicKey key, Set<Right> rights) throws IOException {
        if (rights.isEmpty()) {
            throw new IllegalArgumentException("no rights given (rights: read, write, force, tag)");
        }
        try (RepoLock.Held _ = lock(repo)) {
            AccessList now = loadUnlocked(repo);
            KeyId id = TrustStore.at(repo.storeDir().resolve(KEYS_DIR)).trust(key);
            Map<KeyId, Set<Right>> grants = new TreeMap<>(KEY_ORDER);
            grants.putAll(now.grants);
            grants.put(id, EnumSet.copyOf(rights));
            AccessList next = new AccessList(now.repositoryId, grants, TrustStore.at(repo.storeDir().resolve(KEYS_DIR)));
            next.save(repo);
            return next;
        }
    }

    /** Takes every right from {@code key}; false when it had none. */
    public static boolean revoke(Repository repo, KeyId key) throws IOException {
        try (RepoLock.Held _ = lock(repo)) {
            AccessList now = loadUnlocked(repo);
            if (!now.grants.containsKey(key)) {
                return false;
            }
            Map<KeyId, Set<Right>> grants = new TreeMap<>(KEY_ORDER);
            grants.putAll(now.grants);
            grants.remove(key);
            new AccessList(now.repositoryId, grants, now.keys).save(repo);
            Files.deleteIfExists(repo.storeDir().resolve(KEYS_DIR).resolve(key.hex() + ".pub"));
            return true;
        }
    }

    private void save(Repository repo) throws IOException {
        StringBuilder sb = new StringBuilder(HEADER).append('\n').append("repository ").append(repositoryId).append('\n');
        grants.forEach((k, r) -> sb.append(k.hex()).append(' ').append(format(r)).append('\n'));
        AtomicFiles.replace(repo.tmpDir(), repo.storeDir().resolve(FILE), sb.toString().getBytes(StandardCharsets.UTF_8));
    }
}
