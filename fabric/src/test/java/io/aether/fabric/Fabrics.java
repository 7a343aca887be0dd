package io.aether.fabric;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.common.ByteSize;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.Node;
import io.aether.fabricapi.Resources;
import io.aether.security.Tls;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** What the fabric's tests build: free loopback ports, groups of controllers, jobs and nodes. */
final class Fabrics {

    /** Short enough for a test to see a new leader in a few seconds, long enough for a loaded 2-core machine. */
    static final Duration ELECTION_TIMEOUT = Duration.ofMillis(600);

    private Fabrics() {
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Configurations for {@code size} controllers on loopback, each with its own directory under {@code root}. */
    static List<ControllerConfig> group(Path root, int size, long snapshotEvery) throws IOException {
        List<ControllerConfig.Peer> peers = new ArrayList<>();
        for (int i = 1; i <= size; i++) {
            String id = "c" + i;
            // Each controller's authority made ahead, as an operator would, so that --peers can pin it.
            String authority = Tls.fingerprint(RaftPeerTls.authority(root.resolve(id), id).certificate());
            peers.add(new ControllerConfig.Peer(id, "127.0.0.1", freePort(), Optional.of(authority)));
        }
        List<ControllerConfig> configs = new ArrayList<>();
        for (ControllerConfig.Peer p : peers) {
            configs.add(new ControllerConfig(root.resolve(p.id()), p.id(), peers, snapshotEvery, ELECTION_TIMEOUT));
        }
        return configs;
    }

    static JobSpec stubJob(String name) {
        return JobSpec.of(name, new JobSpec.Workload.Vm(VmSpec.stub(VmSpec.StubProgram.HELLO)), new Resources(1, ByteSize.ofMiB(32)));
    }

    /** A job whose log entry is about {@code bytes} long: a Linux VM with a long command line. */
    static JobSpec bulkyJob(String name, int bytes) {
        VmSpec vm = VmSpec.linux(Path.of("/vm/vmlinuz")).withBoot(new VmSpec.Boot.Linux(Path.of("/vm/vmlinuz"), Optional.empty(), "x".repeat(bytes)));
        return JobSpec.of(name, new JobSpec.Workload.Vm(vm), JobSpec.resourcesOf(vm));
    }

    static Node node(String name, int vcpus, int memoryMiB, Map<String, String> labels) {
        return new Node(name, new TreeMap<>(labels), new Resources(vcpus, ByteSize.ofMiB(memoryMiB)), Node.Status.READY);
    }

    /** A stand-in for a node's public key in base64, the same for the same node (the state checks the form, the controller the key). */
    static String key(String node) {
        return Base64.getEncoder().encodeToString(("key of " + node).getBytes(StandardCharsets.UTF_8));
    }

    static ObjectNode query(String what) {
        return JsonNodeFactory.instance.objectNode().put("query", what);
    }

    /**
     * The applied index once it has not moved for 300 ms: after a commit Ratis appends an entry of
     * its own (the commit index, persisted), which moves the applied index a moment later.
     */
    static long settledIndex(ReplicatedFabric fabric) throws InterruptedException {
        long last = fabric.appliedIndex();
        long since = System.nanoTime();
        while (System.nanoTime() - since < TimeUnit.MILLISECONDS.toNanos(300)) {
            Thread.sleep(20);
            long now = fabric.appliedIndex();
            if (now != last) {
                last = now;
                since = System.nanoTime();
            }
        }
        return last;
    }
}
