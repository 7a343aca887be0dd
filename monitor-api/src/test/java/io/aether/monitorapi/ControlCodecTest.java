package io.aether.monitorapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.vmspec.VmSpec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The control protocol's lines, against JSON written by hand. */
@Timeout(30)
class ControlCodecTest {

    @Test
    void theMetricsOfTheLargestVmFitAResponseLine() throws IOException {
        Map<String, Long> values = new LinkedHashMap<>();
        for (int v = 0; v < VmSpec.MAX_VCPUS; v++) {
            values.put("vcpu." + v + ".cpuNanos", Long.MAX_VALUE);
            for (String reason : List.of("io_in", "io_out", "mmio_read", "mmio_write", "hlt", "shutdown", "internal_error",
                    "fail_entry", "system_event", "interrupted", "unsupported")) {
                values.put("vcpu." + v + ".exits." + reason, Long.MAX_VALUE);
            }
        }
        for (int d = 0; d < VmSpec.MAX_DEVICES + 1; d++) {
            for (int c = 0; c < 40; c++) values.put("virtio-net" + d + ".queue1.fault.readable_after_writable" + c, Long.MAX_VALUE);
        }
        String line = ControlCodec.write(new ControlResponse.Metrics(values));
        String read = ControlCodec.readLine(new ByteArrayInputStream(line.getBytes(StandardCharsets.UTF_8)), ControlCodec.MAX_RESPONSE_LINE);
        assertEquals(new ControlResponse.Metrics(values), ControlCodec.readResponse(read));
    }

    @Test
    void requestsAreTheDocumentedLines() {
        assertEquals("{\"op\":\"state\"}\n", ControlCodec.write(new ControlRequest.State()));
        assertEquals("{\"op\":\"pause\"}\n", ControlCodec.write(new ControlRequest.Pause()));
        assertEquals("{\"op\":\"stop\",\"graceful\":false,\"timeoutMillis\":2500}\n",
                ControlCodec.write(new ControlRequest.Stop(false, Duration.ofMillis(2500))));
        assertEquals("{\"op\":\"console-attach\",\"replay\":true}\n", ControlCodec.write(new ControlRequest.ConsoleAttach(true)));
        assertEquals(new ControlRequest.Stop(true, Duration.ofSeconds(3)),
                ControlCodec.readRequest("{\"timeoutMillis\": 3000, \"op\": \"stop\", \"graceful\": true}"));
        assertEquals(new ControlRequest.Resume(), ControlCodec.readRequest(" {\"op\":\"resume\"} "));
        assertEquals(new ControlRequest.ConsoleDetach(), ControlCodec.readRequest("{\"op\":\"console-detach\"}"));
        assertEquals(new ControlRequest.Metrics(), ControlCodec.readRequest("{\"op\":\"metrics\"}"));
        assertEquals("{\"op\":\"await-started\",\"timeoutMillis\":1500}\n", ControlCodec.write(new ControlRequest.AwaitStarted(Duration.ofMillis(1500))));
        assertEquals(new ControlRequest.AwaitStarted(Duration.ofSeconds(2)), ControlCodec.readRequest("{\"op\":\"await-started\",\"timeoutMillis\":2000}"));
    }

    @Test
    void badRequestsNameTheField() {
        String[][] cases = {
            {"{\"op\":\"reboot\"}", "op: unknown operation 'reboot' (known: state, await-started, pause, resume, stop, metrics, snapshot, console-attach, console-detach, launch, restore, go)"},
            {"{\"op\":\"pause\",\"now\":true}", "now: unknown field"},
            {"{\"op\":\"stop\",\"graceful\":false}", "timeoutMillis: missing"},
            {"{\"op\":\"await-started\",\"timeoutMillis\":60001}", "timeoutMillis: 60001 is out of range (0 to 60000)"},
            {"{\"op\":\"await-started\"}", "timeoutMillis: missing"},
            {"{\"op\":\"restore\"}", "snapshot: missing"},
            {"{\"op\":\"restore\",\"snapshot\":\"snap\"}", "snapshot: snap is not an absolute path"},
            {"{\"op\":\"restore\",\"snapshot\":\"\"}", "snapshot: not a path (1 to 4096 characters, no NUL)"},
            {"{\"op\":\"restore\",\"snapshot\":\"/s\",\"socket\":\"m.sock\"}", "socket: m.sock is not an absolute path"},
            {"{\"op\":\"restore\",\"snapshot\":\"/s\",\"paused\":true}", "paused: unknown field"},
            {"{\"op\":\"stop\",\"graceful\":\"no\",\"timeoutMillis\":1}", "graceful: expected true or false"},
            {"{\"op\":\"stop\",\"graceful\":false,\"timeoutMillis\":-1}", "timeoutMillis: -1 is out of range (0 to 600000)"},
            {"{\"op\":\"stop\",\"graceful\":false,\"timeoutMillis\":1.5}", "timeoutMillis: expected a whole number"},
            {"{\"op\":7}", "op: expected a string"},
            {"[]", "line: expected a JSON object"},
            {"{\"op\":\"state\"} {}", "line: expected one JSON object"},
            {"{\"op\":\"state\",\"op\":\"pause\"}", "line: not JSON: field 'op' given twice"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ControlCodec.readRequest(c[0]), c[0]);
            assertEquals(c[1], e.getMessage(), c[0]);
        }
    }

    @Test
    void aLaunchCarriesTheSpecAndAbsolutePaths() {
        String line = "{\"op\":\"launch\",\"spec\":{\"boot\":{\"stub\":\"count\"},\"memory\":\"16M\",\"vcpus\":1,\"disks\":[],\"nics\":[],"
                + "\"onReboot\":\"exit\"},\"consoleLog\":\"/vms/a/console.log\",\"socket\":\"/vms/a/monitor.sock\"}\n";
        ControlRequest.Launch launch = new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.COUNT),
                Optional.of(Path.of("/vms/a/console.log")), Optional.of(Path.of("/vms/a/monitor.sock")));
        assertEquals(line, ControlCodec.write(launch));
        assertEquals(launch, ControlCodec.readRequest(line.strip()));
        assertEquals(new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.HELLO), Optional.empty(), Optional.empty()),
                ControlCodec.readRequest("{\"op\":\"launch\",\"spec\":{\"boot\":{\"stub\":\"hello\"}}}"));
        String[][] cases = {
            {"{\"op\":\"launch\"}", "spec: missing"},
            {"{\"op\":\"launch\",\"spec\":{\"boot\":{\"stub\":\"count\"},\"memory\":\"1M\"}}", "spec.memory: 1M is too small (at least 16M)"},
            {"{\"op\":\"launch\",\"spec\":{\"boot\":{\"stub\":\"count\"}},\"socket\":\"vm.sock\"}", "socket: vm.sock is not an absolute path"},
            {"{\"op\":\"launch\",\"spec\":{\"boot\":{\"stub\":\"count\"}},\"consoleLog\":\"\"}", "consoleLog: empty"},
            {"{\"op\":\"launch\",\"spec\":{\"boot\":{\"stub\":\"count\"}},\"consoleLog\":\"/a\\u0000b\"}", "consoleLog: not a path: /a?b"},
            {"{\"op\":\"launch\",\"spec\":{\"boot\":{\"stub\":\"count\"}},\"console\":\"/a\"}", "console: unknown field"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ControlCodec.readRequest(c[0]), c[0]);
            assertEquals(c[1], e.getMessage(), c[0]);
        }
        assertEquals("{\"ok\":\"standby\",\"pid\":42}\n", ControlCodec.write(new ControlResponse.Standby(42)));
        assertEquals(new ControlResponse.Standby(7), ControlCodec.readResponse("{\"pid\":7,\"ok\":\"standby\"}"));
    }

    @Test
    void responsesRoundTripThroughTheirLines() {
        VmSpec spec = VmSpec.stub(VmSpec.StubProgram.COUNT);
        String status = "{\"ok\":\"status\",\"state\":\"failed\",\"reason\":\"guest crashed on vCPU 0: triple fault\","
                + "\"spec\":{\"boot\":{\"stub\":\"count\"},\"memory\":\"16M\",\"vcpus\":1,\"disks\":[],\"nics\":[],\"onReboot\":\"exit\"},\"pid\":42}\n";
        ControlResponse.Status read = (ControlResponse.Status) ControlCodec.readResponse(status.strip());
        assertEquals(new ControlResponse.Status(VmState.FAILED, Optional.of("guest crashed on vCPU 0: triple fault"), spec, 42), read);
        assertEquals(status, ControlCodec.write(read));
        assertEquals("{\"ok\":\"metrics\",\"values\":{\"a\":1,\"b\":2}}\n", ControlCodec.write(new ControlResponse.Metrics(Map.of("b", 2L, "a", 1L))));
        assertEquals(new ControlResponse.Metrics(Map.of("a", 1L)), ControlCodec.readResponse("{\"ok\":\"metrics\",\"values\":{\"a\":1}}"));
        assertEquals(new ControlResponse.Refused("conflict", "cannot pause: the VM is paused"),
                ControlCodec.readResponse("{\"error\":\"conflict\",\"message\":\"cannot pause: the VM is paused\"}"));
        assertEquals("state: unknown state 'sleeping'", assertThrows(IllegalArgumentException.class, () -> ControlCodec.readResponse(
                status.replace("failed", "sleeping"))).getMessage());
    }

    @Test
    void linesAreBoundedAndMustEnd() throws IOException {
        assertEquals("abc", ControlCodec.readLine(in("abc\nrest"), 3));
        assertNull(ControlCodec.readLine(in(""), 3));
        assertEquals("a line longer than 3 bytes", assertThrows(IOException.class, () -> ControlCodec.readLine(in("abcd\n"), 3)).getMessage());
        assertEquals("the connection ended inside a line", assertThrows(IOException.class, () -> ControlCodec.readLine(in("ab"), 3)).getMessage());
    }

    private static ByteArrayInputStream in(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void snapshotRequestsAndAnswersAreTheDocumentedLines() {
        assertEquals("{\"op\":\"snapshot\",\"directory\":\"/var/snap\",\"resume\":true,\"progress\":false}\n",
                ControlCodec.write(new ControlRequest.Snapshot(java.nio.file.Path.of("/var/snap"), true, false)));
        assertEquals(new ControlRequest.Snapshot(java.nio.file.Path.of("/s"), false, false), ControlCodec.readRequest("{\"op\":\"snapshot\",\"directory\":\"/s\"}"));
        assertEquals(new ControlRequest.Snapshot(java.nio.file.Path.of("/s"), false, true),
                ControlCodec.readRequest("{\"progress\":true,\"op\":\"snapshot\",\"directory\":\"/s\",\"resume\":false}"));
        assertEquals("{\"ok\":\"snapshot\",\"memoryBytes\":268435456,\"memoryDataBytes\":4096,\"stateBytes\":900,\"millis\":12}\n",
                ControlCodec.write(new ControlResponse.SnapshotTaken(268435456, 4096, 900, 12)));
        assertEquals(new ControlResponse.SnapshotTaken(1, 2, 3, 4),
                ControlCodec.readResponse("{\"ok\":\"snapshot\",\"millis\":4,\"stateBytes\":3,\"memoryDataBytes\":2,\"memoryBytes\":1}"));
        assertEquals("{\"ok\":\"progress\",\"done\":16,\"total\":32}\n", ControlCodec.write(new ControlResponse.Progress(16, 32)));
        assertEquals(new ControlResponse.Progress(16, 32), ControlCodec.readResponse("{\"ok\":\"progress\",\"total\":32,\"done\":16}"));
        String[][] bad = {
            {"{\"op\":\"snapshot\"}", "directory: missing"},
            {"{\"op\":\"snapshot\",\"directory\":\"relative/dir\"}", "directory: relative/dir is not an absolute path"},
            {"{\"op\":\"snapshot\",\"directory\":\"\"}", "directory: not a path (1 to 4096 characters, no NUL)"},
            {"{\"op\":\"snapshot\",\"directory\":\"/s\\u0000x\"}", "directory: not a path (1 to 4096 characters, no NUL)"},
            {"{\"op\":\"snapshot\",\"directory\":\"/s\",\"resume\":\"yes\"}", "resume: expected true or false"},
            {"{\"op\":\"snapshot\",\"directory\":\"/s\",\"compress\":true}", "compress: unknown field"},
        };
        for (String[] c : bad) {
            assertEquals(c[1], assertThrows(IllegalArgumentException.class, () -> ControlCodec.readRequest(c[0])).getMessage(), c[0]);
        }
    }

    @Test
    void aRestoreHandoverCarriesTheSnapshotAndAbsolutePaths() {
        assertEquals("{\"op\":\"restore\",\"snapshot\":\"/d/snap\",\"allowClone\":false,\"consoleLog\":\"/d/console.log\",\"socket\":\"/d/m.sock\"}\n",
                ControlCodec.write(new ControlRequest.Restore(Path.of("/d/snap"), false, Optional.of(Path.of("/d/console.log")), Optional.of(Path.of("/d/m.sock")))));
        assertEquals(new ControlRequest.Restore(Path.of("/s"), true, Optional.empty(), Optional.empty()),
                ControlCodec.readRequest("{\"allowClone\":true,\"op\":\"restore\",\"snapshot\":\"/s\"}"));
        assertEquals(new ControlRequest.Restore(Path.of("/s"), false, Optional.empty(), Optional.empty()),
                ControlCodec.readRequest("{\"op\":\"restore\",\"snapshot\":\"/s\"}"));
    }

    @Test
    void aHandoverAwaitingItsGoSaysSoAndTheGoIsALineOfItsOwn() {
        assertEquals("{\"op\":\"restore\",\"snapshot\":\"/d/snap\",\"allowClone\":false,\"socket\":\"/d/m.sock\",\"awaitGo\":true}\n",
                ControlCodec.write(new ControlRequest.Restore(Path.of("/d/snap"), false, Optional.empty(), Optional.of(Path.of("/d/m.sock"))).awaitingGo()));
        assertEquals(new ControlRequest.Restore(Path.of("/s"), false, Optional.empty(), Optional.empty(), true),
                ControlCodec.readRequest("{\"op\":\"restore\",\"snapshot\":\"/s\",\"awaitGo\":true}"));
        ControlRequest.Launch launch = new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.HELLO), Optional.empty(), Optional.empty());
        assertFalse(launch.awaitGo());
        ControlRequest.Launch awaiting = launch.awaitingGo();
        assertTrue(ControlCodec.write(awaiting).endsWith(",\"awaitGo\":true}\n"), ControlCodec.write(awaiting));
        assertEquals(awaiting, ControlCodec.readRequest(ControlCodec.write(awaiting).strip()));
        assertEquals(launch, ControlCodec.readRequest(ControlCodec.write(launch).strip()));
        assertEquals("{\"op\":\"go\"}\n", ControlCodec.write(new ControlRequest.Go()));
        assertEquals(new ControlRequest.Go(), ControlCodec.readRequest("{\"op\":\"go\"}"));
        assertEquals("awaitGo: expected true or false", assertThrows(IllegalArgumentException.class,
                () -> ControlCodec.readRequest("{\"op\":\"restore\",\"snapshot\":\"/s\",\"awaitGo\":1}")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> ControlCodec.readRequest("{\"op\":\"go\",\"now\":true}"));
    }
}
