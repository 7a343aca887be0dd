package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.agentapi.CreateVolume;
import io.aether.http.ApiError;
import io.aether.http.ApiException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class VolumeStoreTest {

    private static final long MIB = 1 << 20;
    private static final Instant T = Instant.parse("2026-12-06T12:00:00Z");

    @TempDir
    Path dir;

    private static List<String> names(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Blocks the file takes on disk, as coreutils' stat counts them (512-byte units). */
    private static long blocks(Path file) throws Exception {
        Process p = new ProcessBuilder("stat", "-c", "%b", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        assertEquals(0, p.waitFor(), out);
        return Long.parseLong(out);
    }

    private static String conflict(Runnable r) {
        ApiException e = assertThrows(ApiException.class, r::run);
        return ((ApiError.Conflict) e.error()).message();
    }

    @Test
    void aVolumeIsASparseImageOfItsSizeThatKeepsItsDataAcrossRestarts() throws Exception {
        VolumeStore store = VolumeStore.open(dir, 64 * MIB);
        VolumeStore.Meta meta = store.create(new CreateVolume("data", "32M", Map.of("job", "web")), T);
        assertEquals(new VolumeStore.Meta("data", 32 * MIB, Map.of("job", "web"), "2026-12-06T12:00:00Z"), meta);
        Path image = store.image("data");
        assertEquals(dir.resolve("volumes/data/data.img"), image);
        assertEquals(32 * MIB, Files.size(image));
        assertTrue(blocks(image) < 64, "sparse: " + blocks(image) + " blocks for 32 MiB");
        assertEquals(List.of("data.img", "volume.json"), names(dir.resolve("volumes/data")));
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(20 * MIB);
            f.write("kept".getBytes(StandardCharsets.US_ASCII));
        }

        VolumeStore reopened = VolumeStore.open(dir, 64 * MIB);
        assertEquals(List.of(meta), reopened.list());
        assertEquals(32 * MIB, reopened.provisionedBytes());
        byte[] back = new byte[4];
        try (RandomAccessFile f = new RandomAccessFile(reopened.image("data").toFile(), "r")) {
            f.seek(20 * MIB);
            f.readFully(back);
        }
        assertArrayEquals("kept".getBytes(StandardCharsets.US_ASCII), back);
    }

    @Test
    void capacityCountsWholeSizesAndARefusalCreatesNothing() throws Exception {
        VolumeStore store = VolumeStore.open(dir, 3 * MIB);
        store.create(new CreateVolume("a", "2M", null), T);
        assertEquals("volume b: 2097152 bytes asked, 1048576 of the node's 3145728 bytes of volume capacity left",
                conflict(() -> create(store, "b", "2M")));
        assertEquals("volume a exists", conflict(() -> create(store, "a", "1M")));
        assertEquals(List.of("a"), names(dir.resolve("volumes")));
        store.create(new CreateVolume("b", "1M", null), T);
        assertEquals(3 * MIB, store.provisionedBytes());
    }

    @Test
    void anAttachedVolumeIsNotDeletedAndADeletedOneIsGoneWhole() throws Exception {
        VolumeStore store = VolumeStore.open(dir, 8 * MIB);
        store.create(new CreateVolume("data", "1M", null), T);
        ApiException busy = assertThrows(ApiException.class, () -> store.delete("data", List.of("web-1", "web-2")));
        assertEquals("volume data is attached to web-1, web-2: delete those VMs first", ((ApiError.Conflict) busy.error()).message());
        assertEquals(List.of("data"), names(dir.resolve("volumes")));
        store.delete("data", List.of());
        assertEquals(List.of(), names(dir.resolve("volumes")));
        assertEquals(List.of(), store.list());
        ApiException gone = assertThrows(ApiException.class, () -> store.image("data"));
        assertEquals("no volume named data", ((ApiError.NotFound) gone.error()).message());
    }

    @Test
    void leftoversAreRemovedAndADamagedVolumeIsKeptButNotListed() throws Exception {
        VolumeStore store = VolumeStore.open(dir, 8 * MIB);
        store.create(new CreateVolume("good", "1M", null), T);
        store.create(new CreateVolume("bad", "1M", null), T);
        Files.writeString(dir.resolve("volumes/bad/volume.json"), "{\"name\": \"bad\", \"sizeBytes\": ");
        Files.createDirectory(dir.resolve("volumes/.new-x-123"));
        Files.createDirectory(dir.resolve("volumes/.gone-y-456"));
        VolumeStore reopened = VolumeStore.open(dir, 8 * MIB);
        assertEquals(List.of("good"), reopened.list().stream().map(VolumeStore.Meta::name).toList());
        assertEquals(List.of("bad", "good"), names(dir.resolve("volumes")), "the damaged volume's data stays for its owner");
        // An image whose size no longer matches its record is not handed to a guest either.
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("volumes/good/data.img").toFile(), "rw")) {
            f.setLength(MIB + 512);
        }
        assertEquals(List.of(), VolumeStore.open(dir, 8 * MIB).list());
    }

    @Test
    void requestsNameTheirBadField() {
        assertEquals("size: 1000 is not a whole number of MiB of at least 1 MiB",
                assertThrows(IllegalArgumentException.class, () -> new CreateVolume("v", "1000", null)).getMessage());
        assertEquals("size: not a size: 'lots' (expected e.g. 512M, 2G or a number of bytes)",
                assertThrows(IllegalArgumentException.class, () -> new CreateVolume("v", "lots", null)).getMessage());
        assertEquals("size: missing (such as \"1G\")",
                assertThrows(IllegalArgumentException.class, () -> new CreateVolume("v", null, null)).getMessage());
        assertEquals("name: '../etc' is not a volume name (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)",
                assertThrows(IllegalArgumentException.class, () -> new CreateVolume("../etc", "1M", null)).getMessage());
    }

    private static void create(VolumeStore store, String name, String size) {
        try {
            store.create(new CreateVolume(name, size, null), T);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
