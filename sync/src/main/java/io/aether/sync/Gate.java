package io.aether.sync;

import io.aether.security.KeyId;
import io.aether.security.Signatures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.PublicKey;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The server's side of {@link RequestAuth}: who is asking, and may they. Checks, cheapest first:
 * a well-formed header (401), a key on the {@link AccessList} (401), a time within
 * {@link RequestAuth#MAX_SKEW} of the server's clock (401), the signature over this server's
 * fingerprint, method, path, time, nonce and declared body hash (401), a nonce not seen before
 * (401: a replay), then the right the request needs (403). Without a header, or with a key not
 * on the list, only reading is allowed, and only when the server serves reads to anyone.
 */
final class Gate {

    /** Remembered nonces at most; beyond, requests wait for old ones to expire (503). */
    static final int MAX_NONCES = 1 << 18;

    /**
     * Who asked.
     *
     * @param key        the client key, or null for an anonymous reader
     * @param rights     what it may do
     * @param bodySha256 the body hash it signed (null for an anonymous reader: not checked)
     */
    record Caller(KeyId key, Set<AccessList.Right> rights, String bodySha256) {
        String who() {
            return key == null ? "an anonymous client" : "key " + key.hex();
        }
    }

    private static final Caller ANONYMOUS_READER = new Caller(null, Set.of(AccessList.Right.READ), null);

    private final Repository repo;
    private final String fingerprint;
    private final boolean publicRead;
    private final LongSupplier clock;
    /** Nonce (key and nonce) to the time after which it can no longer be replayed, oldest first. */
    private final LinkedHashMap<String, Long> nonces = new LinkedHashMap<>();
    private AccessList access;
    private Object accessVersion;

    Gate(Repository repo, String fingerprint, boolean publicRead, LongSupplier clock) throws IOException {
        this.repo = repo;
        this.fingerprint = fingerprint;
        this.publicRead = publicRead;
        this.clock = clock;
        this.access = AccessList.load(repo);
        this.accessVersion = version();
    }

    /** The access list, read again when its file changed. */
    synchronized AccessList access() throws IOException {
        Object v = version();
        if (!v.equals(accessVersion)) {
            access = AccessList.load(repo);
            accessVersion = version();
        }
        return access;
    }

    private Object version() throws IOException {
        Path f = repo.storeDir().resolve(AccessList.FILE);
        try {
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            return a.lastModifiedTime().toString() + "/" + a.size() + "/" + a.fileKey();
        } catch (NoSuchFileException e) {
            return "absent";
        }
    }

    /** Admits a request that needs {@code needed}, or says why not. */
    Caller admit(String method, String path, String authorization, AccessList.Right needed) throws Refusal, IOException {
        boolean openToAnyone = needed == AccessList.Right.READ && publicRead;
        if (authorization == null) {
            if (openToAnyone) {
                return ANONYMOUS_READER;
            }
            throw new Refusal(401, "authentication required: this server serves only the client keys on its access list"
                    + " (sign requests with a key of yours; its operator grants it with 'aether model access')");
        }
        RequestAuth.Claim claim;
        try {
            claim = RequestAuth.Claim.parse(authorization);
        } catch (IllegalArgumentException e) {
            throw new Refusal(401, "malformed Authorization header: " + e.getMessage());
        }
        AccessList list = access();
        Optional<PublicKey> listed = list.key(claim.key());
        if (listed.isEmpty()) {
            if (openToAnyone) {
                return ANONYMOUS_READER; // a reader with a key of its own, for other servers
            }
            throw new Refusal(401, "key " + claim.key().hex() + " is not on this server's access list");
        }
        PublicKey key = listed.get();
        long now = clock.getAsLong();
        long skew = RequestAuth.MAX_SKEW.toMillis();
        if (Math.abs(now - claim.timeMillis()) > skew) {
            throw new Refusal(401, "request signed at " + Instant.ofEpochMilli(claim.timeMillis()) + ", more than "
                    + RequestAuth.MAX_SKEW.toMinutes() + " minutes from the server's clock (" + Instant.ofEpochMilli(now)
                    + "); stale, replayed, or a clock to set");
        }
        byte[] signed = RequestAuth.signedBytes(fingerprint, method, path, claim.timeMillis(), claim.nonce(), claim.bodySha256());
        if (!Signatures.verify(key, signed, claim.signature())) {
            throw new Refusal(401, "bad request signature by key " + claim.key().hex()
                    + " (not signed by it, or for another server, request or body)");
        }
        remember(claim.key().hex() + "/" + claim.nonce(), claim.timeMillis() + skew, now);
        Set<AccessList.Right> rights = list.rightsOf(claim.key());
        if (!rights.contains(needed)) {
            throw new Refusal(403, "key " + claim.key().hex() + " may not " + needed.label() + " here (its rights: "
                    + (rights.isEmpty() ? "none" : AccessList.format(rights)) + ")");
        }
        return new Caller(claim.key(), rights, claim.bodySha256());
    }

    private synchronized void remember(String nonce, long expires, long now) throws Refusal {
        for (Iterator<Map.Entry<String, Long>> it = nonces.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Long> e = it.next();
            if (e.getValue() >= now) {
                break; // arrival order is roughly expiry order; a few late ones expire on a later pass
            }
            it.remove();
        }
        if (nonces.containsKey(nonce)) {
            throw new Refusal(401, "replayed request: this nonce was used before");
        }
        if (nonces.size() >= MAX_NONCES) {
            throw new Refusal(503, "too many signed requests in the last " + 2 * RequestAuth.MAX_SKEW.toMinutes()
                    + " minutes; try again later");
        }
        nonces.put(nonce, expires);
    }
}
