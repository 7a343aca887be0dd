package io.aether.cli.model;

import io.aether.security.AetherHome;
import io.aether.security.KnownServers;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
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
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** push, fetch, pull and serve-repo: sync over HTTPS with post-quantum TLS. */
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

        /** The remote at {@code url} and how its certificate is checked. */
        Connection connect(RepoOptions repo, String url) throws IOException {
            URI uri;
            try {
                uri = new URI(url);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("bad URL '" + url + "': " + e.getReason());
            }
            if (!"https".equals(uri.getScheme()) || uri.getHost() == null || uri.getPort() < 0) {
                throw new IllegalArgumentException("bad URL '" + url + "': expected https://HOST:PORT");
            }
            if (serverCert != null) {
                return new Connection(new RemoteRepository(uri, ServerTrust.pinnedFile(repo.path(serverCert.toString()))), null, null);
            }
            AetherHome home = repo.home();
            KnownServers known = new KnownServers(home.knownServersFile());
            String hostPort = uri.getHost() + ":" + uri.getPort();
            Optional<String> before = known.lookup(hostPort);
            return new Connection(new RemoteRepository(uri, new ServerTrust.TrustOnFirstUse(known, hostPort)),
                    before.isEmpty() ? known : null, hostPort);
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

        SyncResult fetch(Repository r) throws IOException {
            Connection c = remote.connect(repo, url);
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
                "The server verifies every object and every commit signature (authors must be in the server's trust"
                        + " store) before it moves its ref, and accepts only a fast-forward unless --force. Tags do not"
                        + " move unless --force. An interrupted push resumes: run it again and only what the server has"
                        + " not received travels.", "",
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
            Connection c = remote.connect(repo, url);
            String what = ref != null ? ref : r.currentBranch().orElseThrow(
                    () -> new IllegalArgumentException("HEAD is detached: name the branch or tag to push"));
            transfer(this, c, "Pushed", p -> c.remote().push(r, what, to, force, p));
            return 0;
        }
    }

    @Command(name = "fetch", mixinStandardHelpOptions = true,
            description = {"Download a branch or tag and the chunks this repository lacks; set FETCH_HEAD.", "",
                "Nothing in the working directory or your branches changes: inspect with 'aether model log FETCH_HEAD'"
                        + " or 'aether model diff HEAD FETCH_HEAD', merge with 'aether model merge FETCH_HEAD'. Every"
                        + " object is checked against its hash and every commit signature against your trust store"
                        + " before FETCH_HEAD moves. An interrupted fetch resumes where it stopped.", "",
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
                "Example:", "  aether model pull https://edge-hub:7443 main", ""},
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {"0:up to date, fast-forwarded or merged", "1:conflicts to resolve, or an error"})
    static final class Pull extends FetchCommand {
        @Override
        int run() throws IOException {
            Repository r = repo.open();
            fetch(r);
            MergeResult m = r.merge("FETCH_HEAD", repo.identity());
            return RepoCommands.Merge.report(this, m);
        }
    }

    @Command(name = "serve-repo", mixinStandardHelpOptions = true,
            description = {"Serve a repository over HTTPS so others can fetch, pull and push.", "",
                "TLS 1.3 with the hybrid post-quantum key exchange X25519MLKEM768 only, and an ML-DSA-65 certificate"
                        + " generated on first use in HOME/tls/ (server.key mode 0600, server.crt). Clients pin the"
                        + " certificate: on first use by default, or with --server-cert server.crt. Anyone who can"
                        + " connect may download; a push moves a ref only when every new commit is signed by a key in"
                        + " this machine's trust store ('aether model trust'). Runs until interrupted (Ctrl-C).", "",
                "Examples:", "  aether model serve-repo /srv/models/resnet --init --port 7443", "  aether model serve-repo . --port 7443", ""})
    static final class ServeRepo extends ModelSubcommand {
        @Parameters(index = "0", paramLabel = "DIR", description = "The repository (a working directory or a bare one).")
        String dir;

        @Option(names = "--port", paramLabel = "PORT", description = "TCP port (default: ${DEFAULT-VALUE}).", defaultValue = "7443")
        int port;

        @Option(names = "--bind", paramLabel = "ADDRESS", description = "Address to listen on (default: ${DEFAULT-VALUE}).", defaultValue = "0.0.0.0")
        String bind;

        @Option(names = "--init", description = "Create a bare repository in DIR if there is none.")
        boolean init;

        @Option(names = "--stall-limit", paramLabel = "DURATION", converter = ModelRunCommand.DurationConverter.class,
                description = "Cut off a client that moves no bytes for this long in the middle of a transfer;"
                        + " it would otherwise keep 'aether model gc' waiting (default: 60s).")
        Duration stallLimit = RepoServer.DEFAULT_STALL_LIMIT;

        @Override
        int run() throws IOException {
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
            AetherHome home = repo.home();
            boolean fresh = !Files.exists(home.tlsDir().resolve("server.crt"));
            ServerCredentials creds = ServerCredentials.loadOrCreate(home.tlsDir(), InetAddress.getLocalHost().getHostName());
            RepoServer server;
            try {
                server = RepoServer.start(r, new InetSocketAddress(InetAddress.getByName(bind), port), creds, stallLimit);
            } catch (java.net.BindException e) {
                throw new IOException("cannot listen on " + bind + ":" + port + ": " + e.getMessage(), e);
            }
            CountDownLatch stop = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                server.close();
                stop.countDown();
            });
            Runtime.getRuntime().addShutdownHook(hook);
            out().println("Serving " + r.storeDir() + " at https://" + bind + ":" + server.port());
            out().println("TLS 1.3, X25519MLKEM768, ML-DSA-65 certificate sha256:" + server.fingerprint()
                    + (fresh ? " (new)" : ""));
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
}
