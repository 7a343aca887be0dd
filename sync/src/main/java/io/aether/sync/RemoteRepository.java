package io.aether.sync;

import io.aether.security.Identity;
import io.aether.security.ServerTrust;
import io.aether.security.Tls;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
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
 * <p>Every request is signed with the client's key when it has one ({@link RequestAuth}); a
 * client without a key can only read from a server that serves reads to anyone.
 *
 * <p>Fetch: read the remote refs, then download top-down ({@link Fetcher}): the new commits
 * (signatures verified as they arrive), their trees, manifests and chunks, asking only for what
 * verified objects refer to, into {@code incoming/}; verify the whole history again, move it into
 * the store and set {@code FETCH_HEAD}. Push: upload what the server lacks into its staging area,
 * then ask it to move its ref in an update that names the repository, the ref, the old and the
 * new commit; the server verifies before it moves the ref (fast-forward only unless forced).
 */
public final class RemoteRepository {

    /** Objects per upload request; a cut transfer loses at most the batch in flight. */
    static final int BATCH_OBJECTS = 256;
    /** Bytes per upload request: the body is built in memory, since its hash is signed before it is sent. */
    static final int BATCH_BYTES = 8 << 20;
    /** Ids per question about what the server lacks (a 2 MiB body). */
    static final int MISSING_BATCH = 1 << 16;
    /** What one fetch may add to {@code incoming/} unless told otherwise. */
    public static final long DEFAULT_MAX_DOWNLOAD_BYTES = 64L << 30;
    private static final String IDS = "application/x-aether-ids";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI url;
    private final HttpLink link;
    private final long maxDownloadBytes;

    /** A remote at {@code url} ({@code https://HOST:PORT}) whose certificate {@code trust} checks; requests unsigned. */
    public RemoteRepository(URI url, ServerTrust trust) {
        this(url, trust, null, DEFAULT_MAX_DOWNLOAD_BYTES);
    }

    /**
     * A remote whose requests are signed with {@code client} (null: unsigned), and whose fetches
     * may add at most {@code maxDownloadBytes} to {@code incoming/}.
     */
    public RemoteRepository(URI url, ServerTrust trust, Identity client, long maxDownloadBytes) {
        this(url, trust, client, maxDownloadBytes, 60_000);
    }

    RemoteRepository(URI url, ServerTrust trust, Identity client, long maxDownloadBytes, int timeoutMillis) {
        if (maxDownloadBytes <= 0) {
            throw new IllegalArgumentException("the download limit must be positive, got " + maxDownloadBytes);
        }
        this.url = url;
        this.maxDownloadBytes = maxDownloadBytes;
        SecureRandom random = new SecureRandom();
        HttpLink.Signer signer = client == null ? null : (server, method, path, body) ->
                RequestAuth.sign(client, server, method, path, body, System.currentTimeMillis(), random).header();
        this.link = new HttpLink(url, Tls.clientContext(trust), timeoutMillis, signer);
    }

    /** The remote's refs and the id of the repository it serves. */
    private record RemoteRefs(Map<String, String> refs, String repositoryId) {
    }

    /** The remote's branches and tags by full name ({@code refs/heads/main}), and {@code HEAD} as the name it points to. */
    public Map<String, String> refs() throws IOException {
        return listRefs().refs();
    }

    private RemoteRefs listRefs() throws IOException {
        try (HttpLink.Response r = link.send("GET", "/v1/refs", null, null)) {
            String text = okText(r);
            Map<String, String> m = new LinkedHashMap<>();
            String repositoryId = null;
            for (String line : text.split("\n")) {
                String[] f = line.strip().split(" ");
                if (f.length == 2 && f[0].equals("HEAD")) {
                    m.put("HEAD", f[1]);
                } else if (f.length == 2 && f[0].equals("REPOSITORY")) {
                    repositoryId = f[1];
                } else if (f.length == 2) {
                    m.put(f[1], f[0]);
                }
            }
            return new RemoteRefs(m, repositoryId);
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
        if (id == null) {
            throw new RefNotFoundException("the remote " + url + " has no ref '" + name + "'");
        }
        return Map.entry(full, ObjectId.parse(id));
    }

    /**
     * Downloads {@code remoteRef} (branch, tag or full name) and what it needs, verifies it, and
     * sets {@code FETCH_HEAD} to it. Safe to repeat after an interruption: objects already
     * received are not downloaded again.
     */
    public SyncResult fetch(Repository local, String remoteRef, Progress progress) throws IOException {
        return fetch(local, remoteRef(refs(), remoteRef), progress);
    }

    private SyncResult fetch(Repository local, Map.Entry<String, ObjectId> ref, Progress progress) throws IOException {
        Meter meter = new Meter();
        ObjectId tip = ref.getValue();
        Optional<ObjectId> before = local.refs.readSpecial("FETCH_HEAD");
        long objects = 0;
        long objectBytes = 0;
        boolean upToDate = local.objects.has(tip);
        try (RepoLock.Held _ = local.sharedLock()) {
            if (!upToDate) {
                Fetcher fetcher = new Fetcher(local, this::requestFrames, maxDownloadBytes, progress);
                fetcher.fetch(tip, localCommits(local));
                objects = fetcher.objects;
                objectBytes = fetcher.bytes;
                Transfer.validateAndPromote(local, tip, progress);
            } else {
                local.commit(tip);
            }
            local.refs.writeSpecial("FETCH_HEAD", tip);
        }
        return meter.result(ref.getKey(), before.orElse(null), tip, upToDate, objects, objectBytes);
    }

    /**
     * Makes {@code empty} (a new repository with a working directory) a copy of the remote's
     * {@code remoteRef} (null: the branch the remote's HEAD names): fetches it, makes the local
     * branch of the same name (a tag is checked out as a detached HEAD) and checks it out. Needs
     * no signing key.
     */
    public SyncResult cloneInto(Repository empty, String remoteRef, Progress progress) throws IOException {
        if (!empty.refs.all().isEmpty() || empty.refs.headCommit().isPresent()) {
            throw new IllegalArgumentException(empty.workDir() + " already has commits; clone into a new directory");
        }
        Map.Entry<String, ObjectId> ref = remoteRef(refs(), remoteRef == null ? "HEAD" : remoteRef);
        SyncResult r = fetch(empty, ref, progress);
        if (ref.getKey().startsWith(Refs.HEADS)) {
            // An unborn branch of that name, then a fast-forward into it: no merge commit, no key.
            empty.refs.setHead(new Refs.Head.OnBranch(ref.getKey().substring(Refs.HEADS.length())));
            empty.merge("FETCH_HEAD", null);
        } else {
            empty.checkout(r.after().hex(), false);
        }
        return r;
    }

    /** Every commit this store has on a ref or HEAD: where the server's history can stop. */
    private static Set<ObjectId> localCommits(Repository local) throws IOException {
        Set<ObjectId> haves = new HashSet<>();
        for (ObjectId r : local.refs.all().values()) {
            haves.addAll(History.ancestors(local::commit, r));
        }
        Optional<ObjectId> head = local.refs.headCommit();
        if (head.isPresent()) {
            haves.addAll(History.ancestors(local::commit, head.get()));
        }
        return haves;
    }

    private static byte[] idsBody(List<List<ObjectId>> lists) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(buf);
        for (List<ObjectId> ids : lists) {
            Wire.writeIds(d, ids);
        }
        d.flush();
        return buf.toByteArray();
    }

    /** Posts id lists to {@code path}; returns the id list the server answers. */
    private List<ObjectId> askIds(String path, List<List<ObjectId>> lists) throws IOException {
        try (HttpLink.Response r = link.send("POST", path, IDS, idsBody(lists))) {
            requireOk(r);
            return Wire.readIds(new DataInputStream(new BufferedInputStream(r.body)));
        }
    }

    /** Posts id lists to {@code path}; hands each object frame of the answer to {@code frames}. */
    private void requestFrames(String path, List<List<ObjectId>> lists, Fetcher.FrameHandler frames) throws IOException {
        Inflater inflater = new Inflater(true);
        try (HttpLink.Response r = link.send("POST", path, IDS, idsBody(lists))) {
            requireOk(r);
            DataInputStream in = new DataInputStream(new BufferedInputStream(r.body, 1 << 16));
            Wire.Frame f;
            while ((f = Wire.readFrame(in, inflater)) != null) {
                frames.accept(f);
            }
        } catch (java.io.EOFException | java.net.SocketException e) {
            throw new IOException("connection to " + link.hostPort() + " lost; run the command again to resume"
                    + " (objects received so far are kept)", e);
        } finally {
            inflater.end();
        }
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
        RemoteRefs remote = listRefs();
        if (remote.repositoryId() == null) {
            throw new RepositoryException("the remote " + url + " did not name its repository; is it an Aether server?");
        }
        Map<String, String> refs = remote.refs();
        String oldHex = refs.get(target);
        ObjectId old = oldHex == null ? null : ObjectId.parse(oldHex);
        if (tip.equals(old)) {
            return meter.result(target, old, tip, true, 0, 0);
        }
        List<ObjectId> remoteKnown = new ArrayList<>();
        for (Map.Entry<String, String> e : refs.entrySet()) {
            if (!e.getKey().equals("HEAD")) {
                ObjectId id = ObjectId.parse(e.getValue());
                if (local.objects.has(id)) {
                    remoteKnown.add(id);
                }
            }
        }
        List<ObjectId> candidates = Transfer.closure(local, List.of(tip), remoteKnown);
        List<ObjectId> need = new ArrayList<>();
        for (int from = 0; from < candidates.size(); from += MISSING_BATCH) {
            need.addAll(askIds("/v1/missing", List.of(candidates.subList(from, Math.min(candidates.size(), from + MISSING_BATCH)))));
        }
        long[] sent = upload(local, need, progress);
        // The update names the repository, the ref, its old and its new commit, and its hash is signed.
        String line = target + " " + (old == null ? "-" : old.hex()) + " " + tip.hex() + " " + (force ? "1" : "0") + " "
                + remote.repositoryId();
        try (HttpLink.Response r = link.send("POST", "/v1/update-ref", "text/plain", line.getBytes(StandardCharsets.UTF_8))) {
            okText(r);
        }
        return meter.result(target, old, tip, false, sent[0], sent[1]);
    }

    private long[] upload(Repository local, List<ObjectId> ids, Progress progress) throws IOException {
        long count = 0;
        long bytes = 0;
        long wire = 0;
        try (Wire.Compressor compressor = new Wire.Compressor()) {
            int from = 0;
            while (from < ids.size()) {
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                DataOutputStream d = new DataOutputStream(body);
                int n = 0;
                long batchBytes = 0;
                while (from + n < ids.size() && n < BATCH_OBJECTS && body.size() < BATCH_BYTES) {
                    ObjectId id = ids.get(from + n);
                    byte[] enc = local.objects.read(id);
                    wire += Wire.writeFrame(d, id, enc, compressor);
                    batchBytes += enc.length;
                    n++;
                    progress.update("sending objects", from + n, ids.size(), wire);
                }
                d.flush();
                try (HttpLink.Response r = link.send("POST", "/v1/push", "application/x-aether-objects", body.toByteArray())) {
                    okText(r);
                } catch (java.net.SocketException | java.io.EOFException e) {
                    throw new IOException("connection to " + link.hostPort() + " lost after " + count + " of " + ids.size()
                            + " objects; run the command again to resume (the remote keeps what it received)", e);
                }
                from += n;
                count += n;
                bytes += batchBytes;
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
        String reason = text.isBlank() ? "HTTP " + status : reason(text);
        if (status == 401 && !link.signs()) {
            reason += " (this client has no key: create one with 'aether model keygen' and have the server's operator grant it)";
        }
        return status == 403 ? new VerificationException("remote " + link.hostPort() + " refused: " + reason)
                : new RepositoryException("remote " + link.hostPort() + " refused: " + reason);
    }

    /**
     * The first line of a refusal's text, or the message of the http module's JSON error
     * ({@code {"error": CODE, "message": ...}}: a refusal of the server's HTTP stack, such as too
     * many connections or an unknown route), kept printable.
     */
    static String reason(String text) {
        if (text.startsWith("{")) {
            try {
                JsonNode message = JSON.readTree(text).get("message");
                if (message != null && message.isTextual()) {
                    return Codec.printable(message.asText());
                }
            } catch (IOException | RuntimeException notJson) {
                // Shown as it came.
            }
        }
        return text.lines().findFirst().orElse(text);
    }
}
