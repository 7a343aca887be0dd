package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class DataDirTest {

    @TempDir
    Path dir;

    private static VmRecord record(String id) {
        return new VmRecord(id, Map.of("team", "edge"), "on-failure", "running", "created", null, null, 0, null, null);
    }

    private static List<String> names(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aVmFolderIsCreatedWholeReadBackAndDeletedWhole() throws Exception {
        DataDir data = DataDir.open(dir.resolve("node"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("node"))));
        VmSpec spec = VmSpec.stub(VmSpec.StubProgram.COUNT).withMemory(io.aether.common.ByteSize.ofMiB(32));
        data.create(spec, record("a"));
        assertEquals(List.of("a"), names(dir.resolve("node/vms")), "no temporary folder is left");
        assertEquals(List.of("record.json", "spec.json"), names(dir.resolve("node/vms/a")), "no temporary file is left");
        // Written in the spec's JSON form, as a monitor reads it.
        assertEquals("{\"boot\":{\"stub\":\"count\"},\"memory\":\"32M\",\"vcpus\":1,\"disks\":[],\"nics\":[],\"onReboot\":\"exit\"}",
                Files.readString(dir.resolve("node/vms/a/spec.json")));
        assertEquals(new DataDir.Stored(spec, record("a")), data.read("a"));

        VmRecord running = record("a").withState("running", null, 4242L);
        data.write(running);
        assertEquals(running, data.read("a").record());
        assertEquals(List.of("record.json", "spec.json"), names(dir.resolve("node/vms/a")));

        assertThrows(FileAlreadyExistsException.class, () -> data.create(spec, record("a")));
        assertEquals(List.of("a"), names(dir.resolve("node/vms")), "a refused create leaves nothing");

        data.delete("a");
        assertEquals(List.of(), names(dir.resolve("node/vms")));
    }

    @Test
    void oneAgentAtATimeOpensADataDirectory() throws Exception {
        DataDir first = DataDir.open(dir.resolve("node"));
        Files.createDirectories(dir.resolve("node/vms/.new-x-1"));
        assertEquals(dir.resolve("node") + ": another aether node is using this data directory",
                assertThrows(IOException.class, () -> DataDir.open(dir.resolve("node"))).getMessage());
        assertTrue(Files.exists(dir.resolve("node/vms/.new-x-1")), "the refused open touched nothing");
        first.close();
        DataDir.open(dir.resolve("node")).close();
    }

    @Test
    void leftoversOfAnInterruptedCreateOrDeleteAreRemovedAtOpen() throws Exception {
        Path vms = Files.createDirectories(dir.resolve("node/vms"));
        Files.createDirectories(vms.resolve(".new-b-123"));
        Files.writeString(vms.resolve(".new-b-123/spec.json"), "{");
        Files.createDirectories(vms.resolve(".gone-c-456"));
        DataDir data = DataDir.open(dir.resolve("node"));
        assertEquals(List.of(), names(vms));
        assertEquals(List.of(), data.ids());
    }

    @Test
    void aDamagedRecordIsRefusedNamingTheFile() throws Exception {
        DataDir data = DataDir.open(dir.resolve("node"));
        data.create(VmSpec.stub(VmSpec.StubProgram.COUNT), record("a"));
        Path file = dir.resolve("node/vms/a/record.json");
        Files.writeString(file, "{\"id\": \"a\", \"labels\": {}");
        IOException e = assertThrows(IOException.class, () -> data.read("a"));
        assertTrue(e.getMessage().startsWith(file + ": not a VM record: "), e.getMessage());
        Files.writeString(file, "{\"id\": \"b\", \"labels\": {}, \"restartPolicy\": \"never\", \"desired\": \"running\", \"state\": \"created\", \"restarts\": 0}");
        assertEquals(file + ": id: 'b' in the folder of 'a'", assertThrows(IOException.class, () -> data.read("a")).getMessage());
        Files.writeString(file, "x".repeat(70_000));
        assertEquals(file + ": over 65536 bytes", assertThrows(IOException.class, () -> data.read("a")).getMessage());
    }

    @Test
    void anAtomicWriteReplacesTheFileWholeAndLeavesNoTemporaryFile() throws Exception {
        Path file = dir.resolve("f.json");
        Files.writeString(file, "old");
        DataDir.writeAtomically(file, "new".getBytes());
        assertEquals("new", Files.readString(file));
        assertEquals(List.of("f.json"), names(dir));
        // A write that cannot finish (the target is a directory) leaves the old state and no temporary file.
        Files.createDirectory(dir.resolve("d"));
        Files.writeString(dir.resolve("d/x"), "keep");
        assertThrows(IOException.class, () -> DataDir.writeAtomically(dir.resolve("d"), "new".getBytes()));
        assertEquals(List.of("d", "f.json"), names(dir));
        assertFalse(Files.isRegularFile(dir.resolve("d")));
    }

    @Test
    void aReaderNeverSeesAHalfWrittenFile() throws Exception {
        Path file = dir.resolve("record.json");
        byte[] a = "a".repeat(256 * 1024).getBytes();
        byte[] b = "b".repeat(256 * 1024).getBytes();
        DataDir.writeAtomically(file, a);
        java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.List<String> torn = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        Thread reader = Thread.ofPlatform().start(() -> {
            while (writing.get()) {
                try {
                    byte[] seen = Files.readAllBytes(file);
                    if (!java.util.Arrays.equals(seen, a) && !java.util.Arrays.equals(seen, b) && torn.size() < 3) torn.add(seen.length + " bytes");
                } catch (IOException e) {
                    if (torn.size() < 3) torn.add(e.toString());
                }
            }
        });
        for (int i = 0; i < 100; i++) DataDir.writeAtomically(file, i % 2 == 0 ? b : a);
        writing.set(false);
        reader.join();
        assertEquals(List.of(), torn);
    }
}
