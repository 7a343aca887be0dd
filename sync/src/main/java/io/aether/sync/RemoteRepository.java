package io.aether.sync;

import io.aether.security.ServerTrust;
import io.aether.security.Tls;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.zip.Inflater;

/**
 * The client side of sync with a repository served by {@link RepoServer}.
 *
 * <p>Fetch: read the remote refs, send the commits this side has, get back the list of objects
 * it lacks, drop those already received by an earlier (interrupted) attempt, download the rest
 * in batches into {@code incoming/}, verify everything (hashes, structure, signatures, trusted
 * authors), move it into the store and set {@code FETCH_HEAD}. Push: the mirror image, with the
 * server verifying before it moves its ref (fast-forward only unless forced).
 */
public final class RemoteRepository {

    /** Objects per download or upload request; a cut transfer loses at most the batch in flight. */
    static final int BATCH_OBJECTS = 256;
    private static final String IDS = "application/x-aether-ids";

    private final URI url;
    private final HttpLink link;

    /** A remote at {@code url} ({@code https://HOST:PORT}) whose certificate {@code trust} checks. */
    public RemoteRepository(URI url, ServerTrust trust) {
        this(url, trust, 60_000);
    }

    RemoteRepository(URI url, ServerTrust trust, int timeoutMillis) {
        this.url = url;
        this.link = new HttpLink(url, Tls.clientContext(trust), timeoutMillis);
    }

    /** The remote's branches and tags by full name ({@code refs/heads/main}), and {@code HEAD} as the name it points to. */
    public Map<String, String> refs() throws IOException {
        try (HttpLink.Response r = link.send("GET", "/v1/refs", null, null)) {
            String text = okText(r);
            Map<String, String> m = new LinkedHashMap<>();
            for (String line : text.split("\n")) {
                String[] f = line.strip().split(" ");
                if (f.length == 2 && f[0].equals("HEAD")) {
                    m.put("HEAD", f[1]);
                } else if (f.length == 2) {
                    m.put(f[1], f[0]);
                }
            }
            return m;
        }
    }

    /** The full remote ref that {@code name} means (a full name, a branch, or a tag), with its commit. */
    private Map.Entry<String, ObjectId> remoteRef(Map<String, String> refs, String name) {
        String full = name;
        if (name.equals("HEAD")) {
            full = Optional.ofNullable(refs.get("HEAD")).orElse(Refs.HEADS + Refs.DEFAULT_BRANCH);
        } else if (!name.startsWith("refs/")) {
            full = refs.containsKey(Refs.HEADS + name) || !refs.containsKey(Refs.TAGS + name) ? Refs.HEADS + name : Refs.TAGS + name;
        }
        String id = refs.get(full);
        return Map.entry(full, id == null ? null : new ObjectId(id));
    }

    /**
     * Downloads {@code remoteRef} (branch, tag or full name) and what it needs, verifies it, and
     * sets {@code FETCH_HEAD} to it. Safe to repeat after an interruption: objects already
     * received are not downloaded again.
     */
    public SyncResult fetch(Repository local, String remoteRef, Progress progress) throws IOException {
        Meter meter = new Meter();
        Map.Entry<String, ObjectId> ref = remoteRef(refs(), remoteRef);
        if (ref.getValue() == null) {
            throw new RefNotFoundException("the remote " + url + " has no ref '" + remoteRef + "'");
        }
        ObjectId tip = ref.getValue();
        Optional<ObjectId> before = local.refs.readSpecial("FETCH_HEAD");
        long objects = 0;
        long objectBytes = 0;
        boolean upToDate = local.objects.has(tip);
        try (RepoLock.Held _ = local.sharedLock()) {
            if (!upToDate) {
                List<ObjectId> plan = plan(local, tip);
                List<ObjectId> need = Transfer.missing(local, plan);
                long[] moved = download(local, need, progress);
                objects = moved[0];
                objectBytes = moved[1];
                Transfer.validateAndPromote(local, tip, progress);
            } else {
                local.commit(tip);
            }
            local.refs.writeSpecial("FETCH_HEAD", tip);
        }
        return meter.result(ref.getKey(), before.orElse(null), tip, upToDate, objects, objectBytes);
    }

    /** Asks the server which objects {@code tip} needs beyond the commits this store has. */
    private List<ObjectId> plan(Repository local, ObjectId tip) throws IOException {
        Set<ObjectId> haves = new HashSet<>();
        for (ObjectId r : local.refs.all().values()) {
            haves.addAll(History.ancestors(local::commit, r));
        }
        Optional<ObjectId> head = local.refs.headCommit();
        if (head.isPresent()) {
            haves.addAll(History.ancestors(local::commit, head.get()));
        }
        return askIds("/v1/plan", List.of(List.of(tip), new ArrayList<>(haves)));
    }

    /** Posts id lists to {@code path}; returns the id list the server answers. */
    private List<ObjectId> askIds(String path, List<List<ObjectId>> lists) throws IOException {
        try (HttpLink.Response r = link.send("POST", path, IDS, out -> {
            DataOutputStream d = new DataOutputStream(out);
            for (List<ObjectId> ids : lists) {
                Wire.writeIds(d, ids);
            }
            d.flush();
        })) {
            requireOk(r);
            return Wire.readIds(new DataInputStream(new BufferedInputStream(r.body)));
        }
    }

    /** Downloads {@code ids} into incoming/ in batches; returns {objects, bytes}. */
    private long[] download(Repository local, List<ObjectId> ids, Progress progress) throws IOException {
        long count = 0;
        long bytes = 0;
        long wireBytes = 0;
        Inflater inflater = new Inflater(true);
        try {
            for (int from = 0; from < ids.size(); from += BATCH_OBJECTS) {
                List<ObjectId> batch = ids.subList(from, Math.min(ids.size(), from + BATCH_OBJECTS));
                try (HttpLink.Response r = link.send("POST", "/v1/objects", IDS, out -> {
                    DataOutputStream d = new DataOutputStream(out);
                    Wire.writeIds(d, batch);
                    d.flush();
                })) {
                    requireOk(r);
                    DataInputStream in = new DataInputStream(new BufferedInputStream(r.body, 1 << 16));
                    Set<ObjectId> asked = new HashSet<>(batch);
                    IncomingBatch received = new IncomingBatch(local);
                    int got = 0;
                    try {
                        Wire.Frame f;
                        while ((f = Wire.readFrame(in, inflater)) != null) {
                            if (!asked.contains(f.id())) {
                                throw new CorruptObjectException(f.id(), "the remote sent object " + f.id().hex() + ", which was not asked for");
                            }
                            received.add(f.id(), f.encoded());
                            got++;
                            count++;
                            bytes += f.encoded().length;
                            wireBytes += f.wireBytes();
                            progress.update("receiving objects", from + got, ids.size(), wireBytes);
                        }
                    } finally {
                        // Keep every complete object, also when the connection was cut.
                        received.finish();
                    }
                    if (got != batch.size()) {
                        throw new IOException("the remote sent " + got + " of " + batch.size() + " objects");
                    }
                } catch (IOException e) {
                    if (e instanceof java.io.EOFException || e instanceof java.net.SocketException) {
                        throw new IOException("connection to " + link.hostPort() + " lost after " + count + " of " + ids.size()
                                + " objects; run the command again to resume (objects received so far are kept)", e);
                    }
                    throw e;
                }
            }
        } finally {
            inflater.end();
        }
        return new long[] {count, bytes};
    }

    /**
     * Uploads {@code localRef} (a branch, tag, or any ref) and the objects the remote lacks, then
     * asks the remote to set {@code remoteRef} (default: the same branch or tag name) to it. The
     * remote refuses a non-fast-forward unless {@code force}, and verifies every object and
     * signature first.
     */
    public SyncResult push(Repository local, String localRef, String remoteRef, boolean force, Progress progress) throws IOException {
        Meter meter = new Meter();
        ObjectId tip = local.commit(local.resolve(localRef)).id();
        String target = remoteRef != null ? remoteRef
                : localRef.startsWith("refs/") ? localRef
                : local.refs.read(Refs.TAGS + localRef).isPresent() && local.refs.read(Refs.HEADS + localRef).isEmpty()
                        ? Refs.TAGS + localRef
                        : Refs.HEADS + (localRef.equals("HEAD") ? local.currentBranch().orElse(Refs.DEFAULT_BRANCH) : localRef);
        if (!target.startsWith("refs/")) {
            target = Refs.HEADS + target;
        }
        Map<String, String> refs = refs();
        String oldHex = refs.get(target);
        ObjectId old = oldHex == null ? null : new ObjectId(oldHex);
        if (tip.equals(old)) {
            return meter.result(target, old, tip, true, 0, 0);
        }
        List<ObjectId> remoteKnown = new ArrayList<>();
        for (Map.Entry<String, String> e : refs.entrySet()) {
            if (!e.getKey().equals("HEAD")) {
                ObjectId id = new ObjectId(e.getValue());
                if (local.objects.has(id)) {
                    remoteKnown.add(id);
                }
            }
        }
        List<ObjectId> candidates = Transfer.closure(local, List.of(tip), remoteKnown);
        List<ObjectId> need = askIds("/v1/missing", List.of(candidates));
        long[] sent = upload(local, need, progress);
        String line = target + " " + (old == null ? "-" : old.hex()) + " " + tip.hex() + " " + (force ? "1" : "0");
        try (HttpLink.Response r = link.send("POST", "/v1/update-ref", "text/plain", out -> out.write(line.getBytes(StandardCharsets.UTF_8)))) {
            okText(r);
        }
        return meter.result(target, old, tip, false, sent[0], sent[1]);
    }

    private long[] upload(Repository local, List<ObjectId> ids, Progress progress) throws IOException {
        long count = 0;
        long bytes = 0;
        long[] wire = {0};
        try (Wire.Compressor compressor = new Wire.Compressor()) {
            for (int from = 0; from < ids.size(); from += BATCH_OBJECTS) {
                List<ObjectId> batch = ids.subList(from, Math.min(ids.size(), from + BATCH_OBJECTS));
                long[] batchBytes = {0};
                int base = from;
                try (HttpLink.Response r = link.send("POST", "/v1/push", "application/x-aether-objects", out -> {
                    DataOutputStream d = new DataOutputStream(new BufferedOutputStream(out, 1 << 16));
                    int i = 0;
                    for (ObjectId id : batch) {
                        byte[] enc = local.objects.read(id);
                        wire[0] += Wire.writeFrame(d, id, enc, compressor);
                        batchBytes[0] += enc.length;
                        progress.update("sending objects", base + ++i, ids.size(), wire[0]);
                    }
                    d.flush();
                })) {
                    okText(r);
                } catch (java.net.SocketException | java.io.EOFException e) {
                    throw new IOException("connection to " + link.hostPort() + " lost after " + count + " of " + ids.size()
                            + " objects; run the command again to resume (the remote keeps what it received)", e);
                }
                count += batch.size();
                bytes += batchBytes[0];
            }
        }
        return new long[] {count, bytes};
    }

    /** The link's byte counters when an operation starts, to report what it moved. */
    private final class Meter {
        private final long sent = link.payloadSent;
        private final long received = link.payloadReceived;
        private final long wireSent = link.wireSent;
        private final long wireReceived = link.wireReceived;

        SyncResult result(String ref, ObjectId before, ObjectId after, boolean upToDate, long objects, long objectBytes) {
            return new SyncResult(ref, before, after, upToDate, objects, objectBytes, link.payloadSent - sent,
                    link.payloadReceived - received, link.wireSent - wireSent, link.wireReceived - wireReceived);
        }
    }

    /** Throws the server's reason unless the answer is 200. */
    private void requireOk(HttpLink.Response r) throws IOException {
        if (r.status != 200) {
            throw refused(r.status, r.text());
        }
    }

    /** The answer's text (read in full either way); throws the server's reason unless it is 200. */
    private String okText(HttpLink.Response r) throws IOException {
        String text = r.text();
        if (r.status != 200) {
            throw refused(r.status, text);
        }
        return text;
    }

    private RepositoryException refused(int status, String text) {
        String reason = text.isBlank() ? "HTTP " + status : text;
        return status == 403 ? new VerificationException("remote " + link.hostPort() + " refused: " + reason)
                : new RepositoryException("remote " + link.hostPort() + " refused: " + reason);
    }
}
