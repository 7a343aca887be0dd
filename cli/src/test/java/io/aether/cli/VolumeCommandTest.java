package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agent.NodeAgent;
import io.aether.cli.VmClientCommandsTest.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code aether volume create|ls|rm} and {@code aether vm create --volume} against a node agent in this JVM. */
@Timeout(60)
class VolumeCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private NodeAgent agent;

    @AfterEach
    void stop() {
        if (agent != null) agent.close();
        NodeAgentTest.killProcessesUnder(dir);
    }

    private Result aether(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--node", agent.socket().toString()));
        return VmClientCommandsTest.run(all.toArray(String[]::new));
    }

    @Test
    void volumesAreCreatedAttachedGuardedAndDeleted() throws Exception {
        agent = NodeAgent.start(NodeAgent.Options.defaults(dir.resolve("data")).withVolumeCapacity(8L << 20));
        Result created = aether("volume", "create", "data", "--size", "4M", "--label", "job=web");
        assertEquals(0, created.status(), created.err());
        List<String> table = created.out().lines().toList();
        assertTrue(table.get(0).startsWith("NAME  SIZE  ATTACHED TO  CREATED"), table.get(0));
        assertTrue(table.get(1).matches("data  4M    -            \\S+Z +job=web"), table.get(1));
        Path image = dir.resolve("data/volumes/data/data.img");
        assertEquals(4L << 20, Files.size(image));

        Result tooBig = aether("volume", "create", "big", "--size", "8M");
        assertEquals(1, tooBig.status());
        assertEquals("aether volume create: 409 conflict: volume big: 8388608 bytes asked, 4194304 of the node's 8388608 bytes of volume capacity left",
                tooBig.err().strip());
        Result odd = aether("volume", "create", "odd", "--size", "1000");
        assertEquals(2, odd.status());
        assertEquals("aether volume create: size: 1000 is not a whole number of MiB of at least 1 MiB", odd.err().strip());

        // A kernel VM created stopped: the kernel file is never loaded, and stub guests have no disks.
        Path kernel = Files.writeString(dir.resolve("vmlinuz"), "not loaded");
        Path spec = Files.writeString(dir.resolve("vm.json"), "{\"boot\": {\"kernel\": \"" + kernel + "\"}, \"memory\": \"64M\"}");
        Result vm = aether("vm", "create", "--id", "v1", "--spec", spec.toString(), "--no-start", "--volume", "data", "--json");
        assertEquals(0, vm.status(), vm.err());
        JsonNode disk = JSON.readTree(vm.out()).at("/spec/disks/0");
        assertEquals(image.toString(), disk.get("path").asText());
        assertEquals(false, disk.get("readOnly").asBoolean());

        Result second = aether("vm", "create", "--id", "v2", "--spec", spec.toString(), "--no-start", "--volume", "data:ro");
        assertEquals(1, second.status());
        assertEquals("aether vm create: 409 conflict: volume data is attached read-write to v1: a volume goes read-write to one VM at a time",
                second.err().strip());
        Result unknown = aether("vm", "create", "--id", "v3", "--spec", spec.toString(), "--no-start", "--volume", "nosuch");
        assertEquals(1, unknown.status());
        assertTrue(unknown.err().contains("volumes[0].name: no volume named nosuch"), unknown.err());
        assertEquals(List.of("v1"), JSON.readTree(aether("vm", "ls", "--json").out()).findValuesAsText("id"), "refused creates leave no VM");

        Result listed = aether("volume", "ls");
        assertTrue(listed.out().contains("data  4M    v1"), listed.out());
        assertTrue(listed.out().endsWith("4M of 8M volume capacity provisioned\n"), listed.out());

        Result busy = aether("volume", "rm", "data");
        assertEquals(1, busy.status());
        assertEquals("aether volume rm: 409 conflict: volume data is attached to v1: delete those VMs first", busy.err().strip());
        assertTrue(Files.exists(image));

        assertEquals(0, aether("vm", "rm", "v1").status());
        assertEquals(0, aether("volume", "rm", "data").status());
        JsonNode empty = JSON.readTree(aether("volume", "ls", "--json").out());
        assertEquals(0, empty.get("volumes").size());
        assertEquals(0, empty.get("provisionedBytes").asLong());
        assertTrue(Files.notExists(image.getParent()));
    }
}
