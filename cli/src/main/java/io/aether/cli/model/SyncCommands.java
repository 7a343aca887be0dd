package io.aether.cli.model;

import io.aether.common.ByteSize;
import io.aether.security.AetherHome;
import io.aether.security.Identity;
import io.aether.security.KeyFiles;
import io.aether.security.KeyId;
import io.aether.security.KnownServers;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import io.aether.sync.AccessList;
import io.aether.sync.MergeResult;
import io.aether.sync.Progress;
import io.aether.sync.RemoteRepository;
import io.aether.sync.RepoServer;
import io.aether.sync.Repository;
import io.aether.sync.RepositoryException;
import io.aether.sync.SyncResult;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/** push, fetch, pull, clone, serve-repo and access: sync over HTTPS with post-quantum TLS. */
final class SyncCommands {

    private SyncCommands() {
    }

    /** How the client checks the server's certificate. */
    static final class RemoteOptions {
        @Option(names = "--server-cert", paramLabel = "FILE",
                description = "Accept only the server certificate in FILE (PEM; the server's HOME/tls/server.crt)."
                        + " Without it the first certificate seen for HOST:PORT is pinned in HOME/known_servers"
                        + " and a different one is refused later.")
        Path serverCert;

        /**
         * The remote at {@code url}, how its certificate is checked, and the user's key (if any)
         * to sign requests with; fetches add at most {@code maxDownload} bytes to incoming/.
         */
        Connection connect(RepoOptions repo, String url, long maxDownload) throws IOException {
            URI uri;
            try {
                uri = new URI(url);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("bad URL '" + url + "': " + e.getReason());
            }
            if (!"https".equals(uri.getScheme()) || uri.getHost() == null || uri.getPort() < 0) {
                throw new IllegalArgumentException("bad URL '" + url + "': expected https://HOST:PORT");
            }
            Identity client = repo.identityIfPresent().orElse(null);
            if (serverCert != null) {
                ServerTrust pinned = ServerTrust.pinnedFile(repo.path(serverCert.toString()));
                return new Connection(new RemoteRepository(uri, pinned, client, maxDownload), null, null);
            }
            AetherHome home = repo.home();
            KnownServers known = new KnownServers(home.knownServersFile());
            String hostPort = uri.getHost() + ":" + uri.getPort();
            Optional<String> before = known.lookup(hostPort);
            return new Connection(new RemoteRepository(uri, new ServerTrust.TrustOnFirstUse(known, hostPort), client, maxDownload),
                    before.isEmpty() ? known : null, hostPort);
        }
    }

    /** How much a fetch may download. */
    static final class DownloadOptions {
        @Option(names = "--max-download", paramLabel = "SIZE", converter = ByteSizeConverter.class,
                description = "Refuse to store more than SIZE of objects for one fetch; checked against what the verified"
                        + " manifests declare before any chunk is downloaded (default: 64G).")
        ByteSize maxDownload = new ByteSize(RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES);
    }

    /** Sizes as users write them: 512M, 2G, or bytes. */
    static final class ByteSizeConverter implements ITypeConverter<ByteSize> {
        @Override
        public ByteSize convert(String value) {
            try {
                return ByteSize.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** A remote plus what to say if its certificate was pinned just now. */
    record Connection(RemoteRepository remote, KnownServers newlyPinned, String hostPort) {
        void reportPin(ModelSubcommand cmd) throws IOException {
            if (newlyPinned != null) {
                Optional<String> fp = newlyPinned.lookup(hostPort);
                if (fp.isPresent()) {
                    cmd.err().println("Pinned the certificate of " + hostPort + " (sha256:" + fp.get() + ") in "
                            + newlyPinned.file() + "; compare it with the fingerprint the server printed.");
                }
            }
        }
    }

    /** One transfer, given the progress line to update. */
    @FunctionalInterface
    interface Transfer {
        SyncResult run(Progress progress) throws IOException;
    }

    /**
     * Runs a transfer with a progress line on stderr, then says whether the server's certificate
     * was pinned just now and what moved.
     */
    static SyncResult transfer(ModelSubcommand cmd, Connection c, String verb, Transfer transfer) throws IOException {
        Formats.ProgressLine p = new Formats.ProgressLine(cmd.err());
        try {
            SyncResult res = transfer.run(p);
            p.finish();
            c.reportPin(cmd);
            summary(cmd, verb, res);
            return res;
        } finally {
            p.finish();
        }
    }

    /** The options of every command that talks to a server: its URL and how to trust it. */
    abstract static class RemoteCommand extends ModelSubcommand {
        @Mixin
        RemoteOptions remote;

        @Parameters(index = "0", paramLabel = "URL", description = "The server, https://HOST:PORT.")
        String url;
    }

    /** fetch and pull: download REF (default: the current branch's name) into FETCH_HEAD. */
    abstract static class FetchCommand extends RemoteCommand {
        @Parameters(index = "1", arity = "0..1", paramLabel = "REF", description = "Branch or tag (default: the current branch's name).")
        String ref;

        @Mixin
        DownloadOptions download;

        SyncResult fetch(Repository r) throws IOException {
            Connection c = remote.connect(repo, url, download.maxDownload.bytes());
            String what = ref != null ? ref : r.currentBranch().orElse("HEAD");
            return transfer(this, c, "Fetched", p -> c.remote().fetch(r, what, p));
        }
    }

    static void summary(ModelSubcommand cmd, String verb, SyncResult r) {
        if (r.upToDate()) {
            cmd.out().println(r.ref() + " is up to date (" + r.after().shortHex() + ")");
            return;
        }
        cmd.out().println(verb + " " + r.ref() + ": " + (r.before() == null ? "(new)" : r.before().shortHex()) + " -> "
                + r.after().shortHex());
        cmd.out().println("  " + r.objects() + " object(s), " + Formats.bytes(r.objectBytes()) + " of data; "
                + Formats.bytes(r.bytesSent()) + " sent, " + Formats.bytes(r.bytesReceived()) + " received ("
                + Formats.bytes(r.wireBytesSent() + r.wireBytesReceived()) + " on the wire with TLS)");
    }

    @Command(name = "push", mixinStandardHelpOptions = true,
            description = {"Send a branch or tag and the chunks the server lacks, then move the server's ref.", "",
                "Requests are signed with your key (see keygen); the server's operator must have granted it: write"
                        + " for branches, tag for new tags, force to rewind a branch or (with tag) move a tag (see access)."
                        + " The server verifies every object and every commit signature (authors must be in the server's"
                        + " trust store) before it moves its ref, and accepts only a fast-forward unless --force. Tags do"
                        + " not move unless --force. An interrupted push resumes: run it again and only what the server"
                        + " has not received travels.", "",
                "Examples:", "  aether model push https://edge-hub:7443 main", "  aether model push https://edge-hub:7443 v1.0", ""})
    static final class Push extends RemoteCommand {
        @Parameters(index = "1", arity = "0..1", paramLabel = "REF", description = "Branch or tag to push (default: the current branch).")
        String ref;

        @Option(names = "--to", paramLabel = "REMOTE-REF", description = "The server's ref to set (default: the same name).")
        String to;

        @Option(names = {"-f", "--force"}, description = "Allow a non-fast-forward update or moving a tag.")
        boolean force;

        @Override
        int run() throws IOException {
            Repository r = repo.open();
            Connection c = remote.connect(repo, url, RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES);
            String what = ref != null ? ref : r.currentBranch().orElseThrow(
                    () -> new IllegalArgumentException("HEAD is detached: name the branch or tag to push"));
            transfer(this, c, "Pushed", p -> c.remote().push(r, what, to, force, p));
            return 0;
        }
    }

    @Command(name = "fetch", mixinStandardHelpOptions = true,
            description = {"Download a branch or tag and the chunks this repository lacks; set FETCH_HEAD.", "",
                "Nothing in the working directory or your branches changes: inspect with 'aether model log FETCH_HEAD'"
                        + " or 'aether model diff HEAD FETCH_HEAD', merge with 'aether model merge FETCH_HEAD'. The"
                        + " download is top-down: commits first, each signature checked against your trust store, then"
                        + " only the trees, manifests and chunks they name, each checked against its hash. An"
                        + " interrupted fetch resumes where it stopped. Requests are signed with your key if you have"
                        + " one; without one, only servers that serve reads to anyone (serve-repo --public-read) answer.", "",
                "Example:", "  aether model fetch https://edge-hub:7443 main", ""})
    static final class Fetch extends FetchCommand {
        @Override
        int run() throws IOException {
            fetch(repo.open());
            return 0;
        }
    }

    @Command(name = "pull", mixinStandardHelpOptions = true,
            description = {"Fetch a branch or tag, then merge it into the current branch (see fetch and merge).", "",
                "Objects already here are not read again, so 'Already up to date' says nothing about their"
                        + " integrity: 'aether model fsck' verifies the whole repository.", "",
                "A fast-forward needs no signing key, so a machine that only runs models can pull without one; a merge"
                        + " of diverged histories makes a signed merge commit and needs your key.", "",
                "Example:", "  aether model pull https://edge-hub:7443 main", ""},
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {"0:up to date, fast-forwarded or merged", "1:conflicts to resolve, or an error"})
    static final class Pull extends FetchCommand {
        @Override
        int run() throws IOException {
            Repository r = repo.open();
            fetch(r);
            MergeResult m = r.merge("FETCH_HEAD", repo.identityIfPresent().orElse(null));
            return RepoCommands.Merge.report(this, m);
        }
    }

    @Command(name = "clone", mixinStandardHelpOptions = true,
            description = {"Copy a served repository into a new directory and check out a branch.", "",
                "Downloads REF (default: the branch the server's HEAD names) as fetch does, creates the local branch"
                        + " of the same name and checks it out (a tag is checked out as a detached HEAD). Needs no signing"
                        + " key: a machine that only runs models can clone and pull without one, from a server that lets"
                        + " it read (its key on the server's access list, or serve-repo --public-read). DIR must be new or"
                        + " empty; if the clone fails, what it created is removed.", "",
                "Examples:", "  aether model clone https://edge-hub:7443 resnet",
                "  aether model clone https://edge-hub:7443 resnet-v1 v1.0 --server-cert hub.crt", ""})
    static final class Clone extends RemoteCommand {
        @Parameters(index = "1", paramLabel = "DIR", description = "The new repository's directory.")
        String dir;

        @Parameters(index = "2", arity = "0..1", paramLabel = "REF", description = "Branch or tag (default: the server's HEAD).")
        String ref;

        @Mixin
        DownloadOptions download;

        @Override
        int run() throws IOException {
            Path d = repo.path(dir);
            boolean created = !Files.exists(d);
            if (!created) {
                try (Stream<Path> entries = Files.list(d)) {
                    if (entries.findAny().isPresent()) {
                        throw new IllegalArgumentException(d + " is not empty; clone into a new directory");
                    }
                }
            }
            Connection c = remote.connect(repo, url, download.maxDownload.bytes());
            try {
                Repository r = Repository.init(d, repo.trust());
                SyncResult res = transfer(this, c, "Cloned", p -> c.remote().cloneInto(r, ref, p));
                out().println("Checked out " + r.currentBranch().map(b -> "branch " + b).orElse("detached HEAD") + " at "
                        + res.after().shortHex() + " in " + d);
                return 0;
            } catch (IOException | RuntimeException e) {
                if (created) {
                    removeTree(d);
                } else {
                    clearDirectory(d);
                }
                throw e;
            }
        }

        /** Removes what a failed clone left in a directory that was empty before. */
        private static void clearDirectory(Path d) throws IOException {
            try (Stream<Path> entries = Files.list(d)) {
                for (Path p : (Iterable<Path>) entries::iterator) {
                    removeTree(p);
                }
            }
        }

        private static void removeTree(Path p) throws IOException {
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            try (Stream<Path> s = Files.walk(p)) {
                for (Path q : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                    Files.deleteIfExists(q);
                }
            }
        }
    }

    @Command(name = "serve-repo", mixinStandardHelpOptions = true,
            description = {"Serve a repository over HTTPS so others can clone, fetch, pull and push.", "",
                "TLS 1.3 with the hybrid post-quantum key exchange X25519MLKEM768 only, and an ML-DSA-65 certificate"
                        + " generated on first use in HOME/tls/ (server.key mode 0600, server.crt). Clients pin the"
                        + " certificate: on first use by default, or with --server-cert server.crt.", "",
                "Every request is signed by the client's ML-DSA-65 key and must come from a key on the repository's"
                        + " access list, with the right it needs (see 'aether model access'); without --public-read,"
                        + " nobody else can even read. A push moves a ref only when every new commit is signed by a key"
                        + " in this machine's trust store ('aether model trust'). Pushed objects wait in a staging area"
                        + " per client until a ref update reaches them; the rest is removed then, or after --staging-ttl."
                        + " Runs until interrupted (Ctrl-C).", "",
                "Examples:", "  aether model serve-repo /srv/models/resnet --init --port 7443",
                "  aether model access /srv/models/resnet --grant alice.pub=write",
                "  aether model serve-repo . --port 7443 --public-read", ""})
    static final class ServeRepo extends ModelSubcommand {
        @Parameters(index = "0", paramLabel = "DIR", description = "The repository (a working directory or a bare one).")
        String dir;

        @Option(names = "--port", paramLabel = "PORT", description = "TCP port (default: ${DEFAULT-VALUE}).", defaultValue = "7443")
        int port;

        @Option(names = "--bind", paramLabel = "ADDRESS", description = "Address to listen on (default: ${DEFAULT-VALUE}).", defaultValue = "0.0.0.0")
        String bind;

        @Option(names = "--init", description = "Create a bare repository in DIR if there is none.")
        boolean init;

        @Option(names = "--public-read", description = "Let clients without a key (or with one not on the access list) list"
                + " refs and download. Pushing always needs a granted key.")
        boolean publicRead;

        @Option(names = "--stall-limit", paramLabel = "DURATION", converter = ModelRunCommand.DurationConverter.class,
                description = "Close a connection that moves no bytes for this long, in either direction (default: 60s).")
        Duration stallLimit = RepoServer.DEFAULT_STALL_LIMIT;

        @Option(names = "--min-rate", paramLabel = "SIZE", converter = ByteSizeConverter.class,
                description = "Cut off a client that sends its TLS handshake, request head or request body slower than"
                        + " this many bytes per second on average, measured once it has been sending for 2 seconds"
                        + " (default: 1K; at least 1).")
        ByteSize minRate = new ByteSize(RepoServer.DEFAULT_MIN_BYTES_PER_SECOND);

        @Option(names = "--io-deadline", paramLabel = "DURATION", converter = ModelRunCommand.DurationConverter.class,
                description = "Cut off a request not answered in full this long after its head arrived: its body read,"
                        + " its work done and its answer sent (default: 10m).")
        Duration ioDeadline = RepoServer.DEFAULT_IO_DEADLINE;

        @Option(names = "--max-connections", paramLabel = "N",
                description = "Connections served at once; one more is answered 503 and closed (default: ${DEFAULT-VALUE}).")
        int maxConnections = RepoServer.DEFAULT_MAX_CONNECTIONS;

        @Option(names = "--max-connections-per-client", paramLabel = "N",
                description = "Connections served at once from one client address; one more is answered 429 and closed"
                        + " (default: ${DEFAULT-VALUE}).")
        int maxConnectionsPerClient = RepoServer.DEFAULT_MAX_CONNECTIONS_PER_CLIENT;

        @Option(names = "--max-push", paramLabel = "SIZE", converter = ByteSizeConverter.class,
                description = "Most bytes one client may have pushed that no ref update has accepted yet (default: 16G).")
        ByteSize maxPush = new ByteSize(RepoServer.Options.DEFAULT_MAX_PUSH_BYTES);

        @Option(names = "--max-staged", paramLabel = "SIZE", converter = ByteSizeConverter.class,
                description = "The same, for all clients together (default: 64G).")
        ByteSize maxStaged = new ByteSize(RepoServer.Options.DEFAULT_MAX_STAGED_BYTES);

        @Option(names = "--staging-ttl", paramLabel = "DURATION", converter = ModelRunCommand.DurationConverter.class,
                description = "Remove a client's pushed objects that no ref update accepted after this long without a"
                        + " push from it (default: 60m).")
        Duration stagingTtl = RepoServer.Options.DEFAULT_STAGING_TTL;

        @Override
        int run() throws IOException {
            // Checked first: limits the server cannot keep are refused before --init creates anything.
            RepoServer.Options options = new RepoServer.Options(
                    RepoServer.limits(stallLimit, minRate.bytes(), ioDeadline, maxConnections, maxConnectionsPerClient),
                    publicRead, maxPush.bytes(), maxStaged.bytes(), stagingTtl, RepoServer.Options.DEFAULT_MAX_RESPONSE_BYTES);
            Path d = repo.path(dir);
            Repository r;
            try {
                r = Repository.open(d, repo.trust());
            } catch (RepositoryException e) {
                if (!init) {
                    throw e;
                }
                r = Repository.initBare(d, repo.trust());
                out().println("Initialized empty bare model repository in " + r.storeDir());
            }
            int clients = AccessList.load(r).grants().size();
            AetherHome home = repo.home();
            boolean fresh = !Files.exists(home.tlsDir().resolve("server.crt"));
            ServerCredentials creds = ServerCredentials.loadOrCreate(home.tlsDir(), InetAddress.getLocalHost().getHostName());
            // Says which address it cannot listen on, and why.
            RepoServer server = RepoServer.start(r, new InetSocketAddress(InetAddress.getByName(bind), port), creds, options);
            CountDownLatch stop = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                server.close();
                stop.countDown();
            });
            Runtime.getRuntime().addShutdownHook(hook);
            out().println("Serving " + r.storeDir() + " at https://" + bind + ":" + server.port());
            out().println("TLS 1.3, X25519MLKEM768, ML-DSA-65 certificate sha256:" + server.fingerprint()
                    + (fresh ? " (new)" : ""));
            out().println("Access: " + clients + " client key(s) (aether model access " + d + ")"
                    + (publicRead ? "; anyone may read" : clients == 0 ? "; nobody can read or push yet" : ""));
            out().println("Certificate file for clients: " + home.tlsDir().resolve("server.crt"));
            out().flush();
            try {
                stop.await();
            } catch (InterruptedException e) {
                // Stopped by the embedding program (tests interrupt the thread).
                Thread.currentThread().interrupt();
            } finally {
                server.close();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // The JVM is already shutting down; the hook is running.
                }
            }
            return 0;
        }
    }

    @Command(name = "access", mixinStandardHelpOptions = true,
            description = {"Show or change which client keys may read from and push to a served repository.", "",
                "The list lives in the repository's store (DIR/access and the keys in DIR/access-keys/, inside"
                        + " the .aether directory of a working directory); a running serve-repo picks up changes at once. Rights: read (list refs,"
                        + " download), write (upload, create a branch, fast-forward a branch; implies read), tag (create"
                        + " tags; implies write), force (rewind or replace a branch; with tag, move a tag; implies write)."
                        + " KEY is a public key file (.pub), or the id of a key already on the list or in your trust store."
                        + " A grant replaces the key's rights.", "",
                "Examples:", "  aether model access /srv/resnet",
                "  aether model access /srv/resnet --grant alice.pub=read,write",
                "  aether model access /srv/resnet --grant ci.pub=tag --grant edge.pub=read",
                "  aether model access /srv/resnet --grant KEYID=force     # a key id it lists",
                "  aether model access /srv/resnet --revoke KEYID", ""})
    static final class Access extends ModelSubcommand {
        @Parameters(index = "0", paramLabel = "DIR", description = "The served repository.")
        String dir;

        @Option(names = "--grant", paramLabel = "KEY=RIGHTS", description = "Give KEY exactly RIGHTS (comma-separated).")
        List<String> grants = List.of();

        @Option(names = "--revoke", paramLabel = "KEY", description = "Take every right from KEY.")
        List<String> revokes = List.of();

        @Override
        int run() throws IOException {
            Repository r = Repository.open(repo.path(dir), repo.trust());
            for (String g : grants) {
                int eq = g.lastIndexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("--grant wants KEY=RIGHTS, got '" + g + "'");
                }
                PublicKey key = key(r, g.substring(0, eq));
                AccessList list = AccessList.grant(r, key, AccessList.parseRights(g.substring(eq + 1)));
                KeyId id = KeyId.of(key);
                out().println("Granted " + id.hex() + " " + AccessList.format(list.rightsOf(id)));
            }
            for (String k : revokes) {
                KeyId id = k.matches("[0-9a-f]{64}") ? new KeyId(k) : KeyId.of(KeyFiles.readPublic(repo.path(k)));
                if (!AccessList.revoke(r, id)) {
                    throw new IllegalArgumentException("key " + id.hex() + " is not on the access list");
                }
                out().println("Revoked " + id.hex());
            }
            AccessList list = AccessList.load(r);
            out().println("Repository " + list.repositoryId() + ": " + list.grants().size() + " client key(s)");
            for (AccessList.Grant g : list.grants()) {
                out().println("  " + g.key().hex() + " " + AccessList.format(g.rights()));
            }
            return 0;
        }

        /** A key named by file, or by id on the access list or in the user's trust store. */
        private PublicKey key(Repository r, String name) throws IOException {
            if (name.matches("[0-9a-f]{64}")) {
                KeyId id = new KeyId(name);
                Optional<PublicKey> k = AccessList.load(r).key(id).or(() -> trustedKey(id));
                return k.orElseThrow(() -> new IllegalArgumentException("key " + name + " is neither on the access list nor in"
                        + " your trust store; give its .pub file instead"));
            }
            return KeyFiles.readPublic(repo.path(name));
        }

        private Optional<PublicKey> trustedKey(KeyId id) {
            try {
                return repo.trust().find(id);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }
}
