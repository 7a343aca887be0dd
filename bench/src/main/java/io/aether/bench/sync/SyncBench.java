package io.aether.bench.sync;

import io.aether.security.Identity;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import io.aether.security.TrustStore;
import io.aether.sync.AccessList;
import io.aether.sync.MergeResult;
import io.aether.sync.Progress;
import io.aether.sync.RemoteRepository;
import io.aether.sync.RepoServer;
import io.aether.sync.Repository;
import io.aether.sync.SyncResult;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.Deflater;

/**
 * Bytes moved to update a model after changing 1% of its weights, by {@code aether model}
 * push/fetch (HTTPS on loopback), by a full copy and by rsync's delta algorithm, all on the same
 * files in the same run; and sync throughput on loopback.
 *
 * <p>The model is a synthetic ONNX file (written here as protobuf bytes): {@code --tensors}
 * float32 initializers of {@code --tensor-floats} Gaussian weights each. Three kinds of 1% change
 * are measured, each on top of the previous version: one contiguous block (fine-tuning one part
 * of one layer), ten blocks spread over the file, and weights scattered uniformly at random (the
 * worst case for any chunk- or block-based delta).
 *
 * <p>Usage: {@code SyncBench [--tensors N] [--tensor-floats N] [--seed N]}; prints markdown.
 */
public final class SyncBench {

    private SyncBench() {
    }

    public static void main(String[] args) throws Exception {
        int tensors = 16;
        int floats = 1 << 20;
        long seed = 1;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--tensors" -> tensors = Integer.parseInt(args[++i]);
                case "--tensor-floats" -> floats = Integer.parseInt(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                default -> {
                    System.err.println("usage: SyncBench [--tensors N] [--tensor-floats N] [--seed N]");
                    System.exit(2);
                }
            }
        }
        Path root = Files.createTempDirectory("aether-sync-bench");
        try {
            run(root, tensors, floats, seed);
        } finally {
            deleteTree(root);
        }
    }

    private static void run(Path root, int tensorCount, int floatsPerTensor, long seed) throws Exception {
        Identity me = Identity.generate();
        TrustStore trust = TrustStore.of(me.publicKey());
        ServerCredentials creds = ServerCredentials.generate("bench");
        Repository server = Repository.initBare(root.resolve("server"), trust);
        Repository alice = Repository.init(root.resolve("alice"), trust);
        Repository bob = Repository.init(root.resolve("bob"), trust);
        Random rnd = new Random(seed);
        float[][] weights = new float[tensorCount][floatsPerTensor];
        for (float[] t : weights) {
            for (int i = 0; i < t.length; i++) {
                t[i] = (float) (rnd.nextGaussian() * 0.05);
            }
        }
        Path model = alice.workDir().resolve("model.onnx");
        byte[] v1 = onnx(weights);
        Files.write(model, v1);
        long totalFloats = (long) tensorCount * floatsPerTensor;

        AccessList.grant(server, me.publicKey(), AccessList.parseRights("write"));
        try (RepoServer http = RepoServer.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), creds)) {
            RemoteRepository remote = new RemoteRepository(URI.create("https://127.0.0.1:" + http.port()),
                    ServerTrust.pinned(creds.certificate()), me, RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES);
            System.out.printf(Locale.ROOT, "Model: synthetic ONNX, %d float32 tensors x %d weights = %s%n%n",
                    tensorCount, floatsPerTensor, mib(v1.length));

            // Throughput: the first version, nothing on the other side.
            long t0 = System.nanoTime();
            alice.add(List.of("model.onnx"));
            alice.commit("v1", me);
            long tAdd = System.nanoTime() - t0;
            t0 = System.nanoTime();
            SyncResult push1 = remote.push(alice, "main", null, false, Progress.NONE);
            long tPush = System.nanoTime() - t0;
            t0 = System.nanoTime();
            SyncResult fetch1 = remote.fetch(bob, "main", Progress.NONE);
            long tFetch = System.nanoTime() - t0;
            t0 = System.nanoTime();
            MergeResult m = bob.merge("FETCH_HEAD", me);
            long tCheckout = System.nanoTime() - t0;
            if (m.kind() != MergeResult.Kind.FAST_FORWARD) {
                throw new IllegalStateException("expected a fast-forward, got " + m.kind());
            }
            System.out.println("### Sync throughput on loopback (first version, empty receiver)");
            System.out.println();
            System.out.println("| step | time | throughput | payload bytes | bytes on the wire (TLS) |");
            System.out.println("|---|---:|---:|---:|---:|");
            row("add + commit (chunk, hash, store)", tAdd, v1.length, -1, -1);
            row("push to the server (HTTPS)", tPush, v1.length, push1.bytesSent() + push1.bytesReceived(),
                    push1.wireBytesSent() + push1.wireBytesReceived());
            row("fetch from the server (HTTPS, verify, store)", tFetch, v1.length, fetch1.bytesSent() + fetch1.bytesReceived(),
                    fetch1.wireBytesSent() + fetch1.wireBytesReceived());
            row("merge FETCH_HEAD (write the working file)", tCheckout, v1.length, -1, -1);
            // The peer: rsync copying the same file to an empty directory, over its remote-shell pipe.
            Path shell = localShell(root);
            Path rsyncFirst = root.resolve("rsync-first");
            Files.createDirectories(rsyncFirst);
            t0 = System.nanoTime();
            long rsyncBytes = rsync(shell, model, rsyncFirst, false);
            row("peer: rsync of the same file to an empty directory", System.nanoTime() - t0, v1.length, rsyncBytes, -1);
            System.out.println();

            // Deltas: 1% of the weights, three ways, each version on top of the previous one.
            Path rsyncOld = root.resolve("rsync-dst");
            Files.createDirectories(rsyncOld);
            System.out.println("### Bytes moved to update the model after changing 1% of its weights");
            System.out.println();
            System.out.println("| change (1% = " + totalFloats / 100 + " weights) | aether push | aether fetch | aether fetch, wire (TLS) "
                    + "| full copy | full copy, deflated | rsync --no-whole-file | rsync -z | aether push time | aether fetch time | rsync time |");
            System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            String[] kinds = {"one contiguous block", "10 blocks spread over the file", "scattered at random"};
            byte[] previous = v1;
            for (int k = 0; k < kinds.length; k++) {
                change(weights, k, totalFloats / 100, rnd);
                byte[] next = onnx(weights);
                // rsync on the same old/new pair, over a pipe to a second rsync process (its delta path).
                Files.write(rsyncOld.resolve("model.onnx"), previous);
                Path rsyncSrc = root.resolve("rsync-src-" + k);
                Files.createDirectories(rsyncSrc);
                Files.write(rsyncSrc.resolve("model.onnx"), next);
                long tRsync = System.nanoTime();
                long rsync = rsync(shell, rsyncSrc.resolve("model.onnx"), rsyncOld, false);
                tRsync = System.nanoTime() - tRsync;
                Files.write(rsyncOld.resolve("model.onnx"), previous);
                long rsyncZ = rsync(shell, rsyncSrc.resolve("model.onnx"), rsyncOld, true);

                Files.write(model, next);
                alice.add(List.of("model.onnx"));
                alice.commit("change " + k, me);
                long tDeltaPush = System.nanoTime();
                SyncResult push = remote.push(alice, "main", null, false, Progress.NONE);
                tDeltaPush = System.nanoTime() - tDeltaPush;
                long tDeltaFetch = System.nanoTime();
                SyncResult fetch = remote.fetch(bob, "main", Progress.NONE);
                tDeltaFetch = System.nanoTime() - tDeltaFetch;
                bob.merge("FETCH_HEAD", me);
                if (!java.util.Arrays.equals(next, Files.readAllBytes(bob.workDir().resolve("model.onnx")))) {
                    throw new IllegalStateException("bob's model differs after the sync");
                }
                System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %.2f s | %.2f s | %.2f s |%n", kinds[k],
                        mib(push.bytesSent() + push.bytesReceived()), mib(fetch.bytesSent() + fetch.bytesReceived()),
                        mib(fetch.wireBytesSent() + fetch.wireBytesReceived()), mib(next.length), mib(deflated(next)),
                        mib(rsync), mib(rsyncZ), tDeltaPush / 1e9, tDeltaFetch / 1e9, tRsync / 1e9);
                previous = next;
            }
            System.out.println();
            System.out.println("aether push/fetch: HTTP request and response bodies (negotiation included);"
                    + " wire: every byte on the TCP connections (TLS handshakes with ML-DSA-65 certificates and"
                    + " X25519MLKEM768 key shares, HTTP headers). rsync: 'Total bytes sent' + 'Total bytes received'"
                    + " of rsync --stats, run through a local remote shell so that it uses its delta algorithm. Times:"
                    + " the push, the fetch (without the merge), and the plain rsync of the same update.");
        }
    }

    private static void row(String step, long nanos, long modelBytes, long payload, long wire) {
        double s = nanos / 1e9;
        System.out.printf(Locale.ROOT, "| %s | %.2f s | %.1f MiB/s | %s | %s |%n", step, s, modelBytes / s / (1 << 20),
                payload < 0 ? "" : mib(payload), wire < 0 ? "" : mib(wire));
    }

    /** Changes {@code n} weights: kind 0 one block, 1 ten blocks, 2 scattered. */
    private static void change(float[][] w, int kind, long n, Random rnd) {
        long total = (long) w.length * w[0].length;
        switch (kind) {
            case 0 -> bump(w, rnd.nextLong(total - n), n);
            case 1 -> {
                for (int b = 0; b < 10; b++) {
                    bump(w, b * (total / 10) + rnd.nextLong(total / 10 - n / 10), n / 10);
                }
            }
            default -> {
                for (long i = 0; i < n; i++) {
                    bump(w, rnd.nextLong(total), 1);
                }
            }
        }
    }

    private static void bump(float[][] w, long from, long n) {
        int per = w[0].length;
        for (long i = from; i < from + n; i++) {
            w[(int) (i / per)][(int) (i % per)] *= 1.001f;
        }
    }

    /** A rsync invocation through a "remote shell" that runs the other side locally. */
    private static long rsync(Path shell, Path src, Path dstDir, boolean compress) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("rsync", "--stats", "--no-whole-file", "-I", "-e", shell.toString()));
        if (compress) {
            cmd.add("-z");
        }
        cmd.add(src.toString());
        cmd.add("localhost:" + dstDir + "/");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("rsync failed: " + out);
        }
        return stat(out, "Total bytes sent") + stat(out, "Total bytes received");
    }

    private static long stat(String out, String name) throws IOException {
        Matcher m = Pattern.compile(name + ": ([0-9,]+)").matcher(out);
        if (!m.find()) {
            throw new IOException("no '" + name + "' in rsync's output: " + out);
        }
        return Long.parseLong(m.group(1).replace(",", ""));
    }

    /** {@code sh -c 'shift; exec "$@"'}: rsync's "remote" side, run locally. */
    private static Path localShell(Path root) throws IOException {
        Path f = root.resolve("local-shell");
        Files.writeString(f, "#!/bin/sh\n# rsync calls: local-shell HOST rsync --server ...\nshift\nexec \"$@\"\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwx------"));
        return f;
    }

    private static long deflated(byte[] data) {
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION);
        d.setInput(data);
        d.finish();
        byte[] buf = new byte[1 << 16];
        long n = 0;
        while (!d.finished()) {
            n += d.deflate(buf);
        }
        d.end();
        return n;
    }

    private static String mib(long bytes) {
        return bytes < (1 << 20) ? String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0)
                : String.format(Locale.ROOT, "%.2f MiB", bytes / (double) (1 << 20));
    }

    /** ModelProto (ir_version 1, opset_import 8, graph 7) with one float initializer (GraphProto 5) per tensor. */
    static byte[] onnx(float[][] tensors) {
        ByteArrayOutputStream graph = new ByteArrayOutputStream();
        field(graph, 2, "bench".getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < tensors.length; i++) {
            ByteArrayOutputStream t = new ByteArrayOutputStream();
            varintField(t, 1, tensors[i].length);
            varintField(t, 2, 1);
            field(t, 8, ("layer" + i + ".weight").getBytes(StandardCharsets.UTF_8));
            ByteBuffer raw = ByteBuffer.allocate(tensors[i].length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : tensors[i]) {
                raw.putFloat(v);
            }
            field(t, 9, raw.array());
            field(graph, 5, t.toByteArray());
        }
        ByteArrayOutputStream opset = new ByteArrayOutputStream();
        varintField(opset, 2, 17);
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        varintField(m, 1, 8);
        field(m, 8, opset.toByteArray());
        field(m, 7, graph.toByteArray());
        return m.toByteArray();
    }

    private static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static void varintField(ByteArrayOutputStream out, int field, long v) {
        varint(out, (long) field << 3);
        varint(out, v);
    }

    private static void field(ByteArrayOutputStream out, int field, byte[] b) {
        varint(out, ((long) field << 3) | 2);
        varint(out, b.length);
        out.writeBytes(b);
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
