package io.aether.cli.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code aether model ...} end to end, in-process through {@link Main#run}. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ModelCliTest {

    @TempDir
    Path tmp;

    /** What one command printed and returned. */
    record Result(int status, String out, String err) {
        Result ok() {
            assertEquals(0, status, "exit status; stdout: " + out + " stderr: " + err);
            return this;
        }

        /** Failed with exactly one line on stderr, no stack trace. */
        Result failedWith(String fragment) {
            assertEquals(1, status, "exit status; stdout: " + out + " stderr: " + err);
            assertTrue(err.contains(fragment), "stderr lacks '" + fragment + "': " + err);
            assertEquals(1, err.strip().lines().count(), "one line: " + err);
            assertFalse(err.contains("\tat "), "no stack trace: " + err);
            return this;
        }
    }

    private static final Object STREAMS = new Object();

    static Result run(String... args) {
        synchronized (STREAMS) {
            return runUnlocked(args);
        }
    }

    private static Result runUnlocked(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            status = Main.run(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Runs {@code aether model CMD ARGS --home HOME -C DIR}. */
    Result model(Path home, Path dir, String... args) {
        List<String> a = new ArrayList<>();
        a.add("model");
        a.addAll(List.of(args));
        a.add("--home");
        a.add(home.toString());
        if (dir != null) {
            a.add("-C");
            a.add(dir.toString());
        }
        return run(a.toArray(String[]::new));
    }

    static byte[] weights(long seed, int floats) {
        byte[] b = new byte[floats * 4];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void helpTextsTeach() {
        Result r = run("model", "--help").ok();
        for (String cmd : List.of("init", "add", "commit", "log", "diff", "checkout", "branch", "tag", "gc", "keygen", "trust",
                "push", "pull", "fetch", "clone", "merge", "resolve", "rollback", "serve-repo", "access", "status")) {
            assertTrue(r.out().contains(cmd), cmd + " missing from: " + r.out());
        }
        assertTrue(run("model", "push", "--help").ok().out().contains("fast-forward"));
        assertTrue(run("model", "serve-repo", "--help").ok().out().contains("X25519MLKEM768"));
        assertTrue(run("model", "serve-repo", "--help").ok().out().contains("--public-read"));
        assertTrue(run("model", "serve-repo", "--help").ok().out().contains("--max-connections-per-client"));
        assertTrue(run("model", "access", "--help").ok().out().contains("--grant alice.pub=read,write"));
        assertTrue(run("model", "clone", "--help").ok().out().contains("Needs no signing key"));
    }

    @Test
    void localWorkflowEndToEnd() throws IOException {
        Path home = tmp.resolve("home");
        Path repo = tmp.resolve("repo");
        model(home, tmp, "commit", "-m", "x").failedWith("not an aether repository");
        Result kg = model(home, null, "keygen").ok();
        assertTrue(kg.out().contains("Created ML-DSA-65 key"), kg.out());
        model(home, null, "keygen").failedWith("already exists");
        model(home, null, "init", repo.toString()).ok();
        model(home, repo, "init").failedWith("already a repository");

        Files.write(repo.resolve("model.bin"), weights(1, 200_000));
        Files.writeString(repo.resolve("config.json"), "{\"lr\": 0.1}\n");
        assertTrue(model(home, repo, "status").ok().out().contains("Untracked files:"));
        model(home, repo, "add", ".").ok();
        Result c1 = model(home, repo, "commit", "-m", "first").ok();
        assertTrue(c1.out().startsWith("[main "), c1.out());
        model(home, repo, "tag", "v1").ok();

        Files.write(repo.resolve("model.bin"), weights(2, 200_000));
        Result diff = model(home, repo, "diff").ok();
        assertTrue(diff.out().contains("M model.bin"), diff.out());
        model(home, repo, "add", "model.bin").ok();
        model(home, repo, "commit", "-m", "second").ok();
        Result diff2 = model(home, repo, "diff", "v1", "main").ok();
        assertTrue(diff2.out().contains("M model.bin"), diff2.out());

        Result log = model(home, repo, "log").ok();
        assertTrue(log.out().contains("second") && log.out().contains("first") && log.out().contains("signature verified"), log.out());
        assertEquals(1, model(home, repo, "log", "-n", "1").ok().out().lines().filter(l -> l.startsWith("commit ")).count());

        model(home, repo, "checkout", "v1").ok();
        assertArrayEquals(weights(1, 200_000), Files.readAllBytes(repo.resolve("model.bin")));
        model(home, repo, "checkout", "main").ok();
        model(home, repo, "rollback", "v1").ok();
        assertArrayEquals(weights(1, 200_000), Files.readAllBytes(repo.resolve("model.bin")));
        assertEquals(3, model(home, repo, "log").ok().out().lines().filter(l -> l.startsWith("commit ")).count());
        assertTrue(model(home, repo, "status").ok().out().contains("working directory clean"));

        model(home, repo, "branch", "exp", "v1").ok();
        assertTrue(model(home, repo, "branch").ok().out().contains("* main"));
        assertTrue(model(home, repo, "gc").ok().out().startsWith("Kept "));

        model(home, repo, "checkout", "nosuch").failedWith("unknown ref 'nosuch'");
        model(home, repo, "add", "missing.bin").failedWith("'missing.bin' matches no file");
        model(home, repo, "commit", "-m", "empty").failedWith("nothing to commit");
        model(home, repo, "branch", "../bad").failedWith("bad branch name");
    }

    @Test
    void untrustedAuthorsAreRefusedAndTrustFixesIt() throws IOException {
        Path alice = tmp.resolve("alice-home");
        Path bob = tmp.resolve("bob-home");
        Path repo = tmp.resolve("repo");
        model(alice, null, "keygen").ok();
        model(bob, null, "keygen").ok();
        model(alice, null, "init", repo.toString()).ok();
        Files.writeString(repo.resolve("a.txt"), "a\n");
        model(alice, repo, "add", ".").ok();
        model(alice, repo, "commit", "-m", "by alice").ok();
        model(bob, repo, "log").failedWith("unknown key");
        model(bob, null, "trust", alice.resolve("keys/identity.pub").toString()).ok();
        assertTrue(model(bob, repo, "log").ok().out().contains("by alice"));
        assertEquals(2, model(bob, null, "trust", "--list").ok().out().lines().count());
    }

    @Test
    void mergeConflictResolvedFromTheCommandLine() throws IOException {
        Path home = tmp.resolve("home");
        Path repo = tmp.resolve("repo");
        model(home, null, "keygen").ok();
        model(home, null, "init", repo.toString()).ok();
        Files.write(repo.resolve("model.onnx"), weights(1, 10_000));
        model(home, repo, "add", ".").ok();
        model(home, repo, "commit", "-m", "base").ok();
        model(home, repo, "checkout", "-b", "feature").ok();
        Files.write(repo.resolve("model.onnx"), weights(2, 10_000));
        model(home, repo, "add", ".").ok();
        model(home, repo, "commit", "-m", "theirs").ok();
        model(home, repo, "checkout", "main").ok();
        Files.write(repo.resolve("model.onnx"), weights(3, 10_000));
        model(home, repo, "add", ".").ok();
        model(home, repo, "commit", "-m", "ours").ok();

        Result m = model(home, repo, "merge", "feature").failedWith("conflict");
        assertTrue(m.out().contains("CONFLICT model.onnx: binary file changed on both sides"), m.out());
        assertTrue(model(home, repo, "status").ok().out().contains("conflict: model.onnx"));
        model(home, repo, "commit", "-m", "early").failedWith("unresolved conflicts");
        model(home, repo, "resolve", "model.onnx").status();
        assertEquals(2, model(home, repo, "resolve", "model.onnx").status(), "one of --ours/--theirs/--file is required");
        model(home, repo, "resolve", "model.onnx", "--theirs").ok();
        model(home, repo, "commit", "-m", "merged").ok();
        assertArrayEquals(weights(2, 10_000), Files.readAllBytes(repo.resolve("model.onnx")));
        assertTrue(model(home, repo, "log", "-n", "1").ok().out().contains("(merge)"));
    }

    @Test
    void serveRepoPushAndPullOverHttps() throws Exception {
        Path serverHome = tmp.resolve("server-home");
        Path aliceHome = tmp.resolve("alice-home");
        Path bobHome = tmp.resolve("bob-home");
        model(aliceHome, null, "keygen").ok();
        model(bobHome, null, "keygen").ok();
        model(serverHome, null, "keygen").ok();
        model(serverHome, null, "trust", aliceHome.resolve("keys/identity.pub").toString()).ok();
        model(bobHome, null, "trust", aliceHome.resolve("keys/identity.pub").toString()).ok();

        Path served = tmp.resolve("served");
        model(serverHome, null, "init", "--bare", served.toString()).ok();
        model(serverHome, null, "access", served.toString(), "--grant", aliceHome.resolve("keys/identity.pub") + "=write",
                "--grant", bobHome.resolve("keys/identity.pub") + "=write").ok();
        Server server = Server.start(serverHome, served);
        int port = server.port;
        try {
            String url = "https://127.0.0.1:" + port;
            Path alice = tmp.resolve("alice");
            Path bob = tmp.resolve("bob");
            model(aliceHome, null, "init", alice.toString()).ok();
            model(bobHome, null, "init", bob.toString()).ok();
            Files.write(alice.resolve("model.onnx"), weights(5, 500_000));
            model(aliceHome, alice, "add", ".").ok();
            model(aliceHome, alice, "commit", "-m", "v1").ok();

            Result push = model(aliceHome, alice, "push", url, "main").ok();
            assertTrue(push.out().contains("Pushed refs/heads/main"), push.out());
            assertTrue(push.err().contains("Pinned the certificate of 127.0.0.1:" + port), push.err());
            assertTrue(Files.readString(aliceHome.resolve("known_servers")).contains("127.0.0.1:" + port));

            // Bob pins the certificate explicitly.
            Result pull = model(bobHome, bob, "pull", url, "main", "--server-cert", serverHome.resolve("tls/server.crt").toString()).ok();
            assertTrue(pull.out().contains("Fast-forward"), pull.out());
            assertArrayEquals(weights(5, 500_000), Files.readAllBytes(bob.resolve("model.onnx")));

            // Bob's own commit is refused by the server: his key is not trusted there.
            Files.writeString(bob.resolve("notes.txt"), "bob\n");
            model(bobHome, bob, "add", ".").ok();
            model(bobHome, bob, "commit", "-m", "bob").ok();
            model(bobHome, bob, "push", url, "--server-cert", serverHome.resolve("tls/server.crt").toString())
                    .failedWith("unknown key");

            // Alice changes a little; Bob fetches only that.
            byte[] v2 = weights(5, 500_000);
            for (int i = 1_000_000; i < 1_020_000; i++) {
                v2[i] ^= 0x5a;
            }
            Files.write(alice.resolve("model.onnx"), v2);
            model(aliceHome, alice, "add", ".").ok();
            model(aliceHome, alice, "commit", "-m", "v2").ok();
            model(aliceHome, alice, "push", url).ok();
            Result fetch = model(bobHome, bob, "fetch", url, "main", "--server-cert", serverHome.resolve("tls/server.crt").toString()).ok();
            assertTrue(fetch.out().contains("Fetched refs/heads/main"), fetch.out());
            assertTrue(model(bobHome, bob, "log", "FETCH_HEAD", "-n", "1").ok().out().contains("v2"));

            // A client that pinned another certificate for this address refuses the server.
            Path eveHome = tmp.resolve("eve-home");
            Files.createDirectories(eveHome);
            Files.writeString(eveHome.resolve("known_servers"), "127.0.0.1:" + port + " " + "ab".repeat(32) + "\n");
            model(eveHome, bob, "fetch", url, "main").failedWith("changed");

            // A client without a key is not served unless the server serves reads to anyone.
            Path carolHome = tmp.resolve("carol-home");
            Files.createDirectories(carolHome);
            model(carolHome, null, "clone", url, tmp.resolve("carol").toString()).failedWith("authentication required");
            assertFalse(Files.exists(tmp.resolve("carol")), "a failed clone leaves nothing behind");
        } finally {
            server.stop();
        }
    }

    @Test
    void aConsumerWithoutAKeyClonesAndPullsFastForwards() throws Exception {
        Path serverHome = tmp.resolve("server-home");
        Path aliceHome = tmp.resolve("alice-home");
        Path edgeHome = tmp.resolve("edge-home");
        model(aliceHome, null, "keygen").ok();
        String alicePub = aliceHome.resolve("keys/identity.pub").toString();
        model(serverHome, null, "trust", alicePub).ok();
        model(edgeHome, null, "trust", alicePub).ok(); // trusts Alice's commits, has no key of its own
        assertFalse(Files.exists(edgeHome.resolve("keys")));
        Path served = tmp.resolve("served");
        model(serverHome, null, "init", "--bare", served.toString()).ok();
        model(serverHome, null, "access", served.toString(), "--grant", alicePub + "=write").ok();
        Server server = Server.start(serverHome, served, "--public-read");
        assertTrue(server.banner().contains("anyone may read"), server.banner());
        try {
            String url = "https://127.0.0.1:" + server.port();
            Path alice = tmp.resolve("alice");
            model(aliceHome, null, "init", alice.toString()).ok();
            Files.write(alice.resolve("model.onnx"), weights(11, 300_000));
            model(aliceHome, alice, "add", ".").ok();
            model(aliceHome, alice, "commit", "-m", "v1").ok();
            model(aliceHome, alice, "push", url, "main").ok();

            Path edge = tmp.resolve("edge");
            Result clone = model(edgeHome, null, "clone", url, edge.toString()).ok();
            assertTrue(clone.out().contains("Checked out branch main"), clone.out());
            assertArrayEquals(weights(11, 300_000), Files.readAllBytes(edge.resolve("model.onnx")));
            assertTrue(model(edgeHome, edge, "status").ok().out().contains("working directory clean"));
            model(edgeHome, null, "clone", url, edge.toString()).failedWith("not empty");

            byte[] v2 = weights(11, 300_000);
            v2[1000] ^= 1;
            Files.write(alice.resolve("model.onnx"), v2);
            model(aliceHome, alice, "add", ".").ok();
            model(aliceHome, alice, "commit", "-m", "v2").ok();
            model(aliceHome, alice, "push", url).ok();
            Result pull = model(edgeHome, edge, "pull", url, "main").ok();
            assertTrue(pull.out().contains("Fast-forward"), pull.out());
            assertArrayEquals(v2, Files.readAllBytes(edge.resolve("model.onnx")));

            // Reading is open; writing still needs a granted key.
            Files.writeString(edge.resolve("notes.txt"), "edge\n");
            model(edgeHome, edge, "add", ".").ok();
            model(edgeHome, edge, "commit", "-m", "x").failedWith("no signing key");
            model(edgeHome, null, "clone", url, tmp.resolve("edge2").toString(), "nosuch").failedWith("no ref 'nosuch'");
            assertFalse(Files.exists(tmp.resolve("edge2")), "a failed clone leaves nothing behind");
        } finally {
            server.stop();
        }
    }

    @Test
    void accessGrantsAndRevokesRights() throws IOException {
        Path home = tmp.resolve("home");
        Path other = tmp.resolve("other-home");
        model(home, null, "keygen").ok();
        model(other, null, "keygen").ok();
        Path served = tmp.resolve("served");
        model(home, null, "init", "--bare", served.toString()).ok();
        assertTrue(model(home, null, "access", served.toString()).ok().out().contains(": 0 client key(s)"));
        String myId = model(home, null, "trust", "--list").ok().out().strip();
        Result g = model(home, null, "access", served.toString(), "--grant", myId + "=tag",
                "--grant", other.resolve("keys/identity.pub") + "=read").ok();
        assertTrue(g.out().contains("Granted " + myId + " read,write,tag"), g.out());
        assertTrue(g.out().contains(": 2 client key(s)"), g.out());
        model(home, null, "access", served.toString(), "--grant", myId + "=admin").failedWith("unknown right 'admin'");
        model(home, null, "access", served.toString(), "--grant", "ab".repeat(32) + "=read").failedWith("neither on the access list");
        Result r = model(home, null, "access", served.toString(), "--revoke", myId).ok();
        assertTrue(r.out().contains("Revoked " + myId) && r.out().contains(": 1 client key(s)"), r.out());
        model(home, null, "access", served.toString(), "--revoke", myId).failedWith("not on the access list");
    }

    @Test
    void serveRepoRefusesLimitsTheServerCannotKeep() {
        Path home = tmp.resolve("home");
        String served = tmp.resolve("served").toString();
        run("model", "serve-repo", served, "--init", "--port", "0", "--home", home.toString(), "--min-rate", "0")
                .failedWith("minimum rate must be at least 1 byte/s, got 0");
        run("model", "serve-repo", served, "--init", "--port", "0", "--home", home.toString(), "--max-connections", "4",
                "--max-connections-per-client", "8").failedWith("max connections per client must be 1..max connections (4), got 8");
        assertFalse(Files.exists(tmp.resolve("served")), "refused before --init created the repository");
    }

    /** {@code aether model serve-repo} on a free loopback port, in a thread of this JVM. */
    record Server(Thread thread, int port, int[] status, String banner) {
        static Server start(Path home, Path served, String... options) throws Exception {
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            List<String> args = new ArrayList<>(List.of("model", "serve-repo", served.toString(), "--init", "--port",
                    String.valueOf(port), "--bind", "127.0.0.1", "--home", home.toString()));
            args.addAll(List.of(options));
            // serve-repo runs until interrupted: give it its own stdout, bound when its command line is built.
            ByteArrayOutputStream serveOut = new ByteArrayOutputStream();
            int[] status = {-1};
            Thread thread = new Thread(() -> status[0] = Main.run(args.toArray(String[]::new)));
            synchronized (STREAMS) {
                PrintStream old = System.out;
                System.setOut(new PrintStream(serveOut, true, StandardCharsets.UTF_8));
                try {
                    thread.start();
                    for (int i = 0; i < 600 && !serveOut.toString(StandardCharsets.UTF_8).contains("Certificate file"); i++) {
                        Thread.sleep(50);
                    }
                } finally {
                    System.setOut(old);
                }
            }
            String banner = serveOut.toString(StandardCharsets.UTF_8);
            assertTrue(banner.contains("X25519MLKEM768") && banner.contains("127.0.0.1:" + port), banner);
            return new Server(thread, port, status, banner);
        }

        void stop() throws InterruptedException {
            thread.interrupt();
            thread.join(10_000);
            assertFalse(thread.isAlive());
            assertEquals(0, status[0]);
        }
    }
}
