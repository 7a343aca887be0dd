package io.aether.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.sys.Libc;
import io.aether.testkit.ProcessMappings;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guest memory stays out of the kernel's same-page merging even in a process whose memory is all
 * mergeable ({@code PR_SET_MEMORY_MERGE}, as a monitor makes its own): read back from the kernel's
 * own account of this process's mappings, {@code /proc/self/smaps} ({@code mg}: VM_MERGEABLE).
 */
@Timeout(30)
class GuestMemoryMergingTest {

    private static final long PAGE = RegionSpec.PAGE_SIZE;

    @TempDir
    Path dir;

    @BeforeEach
    void mergeThisProcess() {
        Libc.setMemoryMerge(true);
    }

    @AfterEach
    void stopMerging() {
        Libc.setMemoryMerge(false);
    }

    @Test
    void anonymousGuestMemoryIsNeverMergeableWhileTheRestOfTheProcessIs() throws IOException {
        MemorySegment other = Libc.mmap("mmap", 4 * PAGE, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 16 * PAGE), RegionSpec.ram(0x100000, 8 * PAGE)))) {
            memory.fill(0, 16 * PAGE, (byte) 1);
            assertTrue(mappingHolding(other).mergeable(), "a mapping of the process made after the prctl is mergeable: " + mappingHolding(other));
            for (MemoryRegion region : memory.regions()) {
                assertFalse(mappingHolding(region.host()).mergeable(), "guest region " + region.slot() + " is mergeable: " + mappingHolding(region.host()));
            }
        } finally {
            Libc.munmap(other);
        }
        assertEquals("yes", ProcessMappings.ksmStat(ProcessHandle.current().pid(), "ksm_merge_any"));
    }

    @Test
    void aSnapshotsMappedMemoryFileIsNeverMergeableEither() throws IOException {
        Path file = Files.write(dir.resolve("memory"), new byte[(int) (6 * PAGE)]);
        try (GuestMemory memory = GuestMemory.privateFile(List.of(RegionSpec.ram(0, 4 * PAGE), RegionSpec.ram(0x100000, 2 * PAGE)), file)) {
            memory.writeLong(8, -1);
            for (MemoryRegion region : memory.regions()) {
                assertFalse(mappingHolding(region.host()).mergeable(), "guest region " + region.slot() + " is mergeable: " + mappingHolding(region.host()));
            }
        }
    }

    /** The mapping of this process that holds {@code mapping}'s first byte. */
    private static ProcessMappings.Mapping mappingHolding(MemorySegment mapping) throws IOException {
        return ProcessMappings.of(ProcessHandle.current().pid()).stream().filter(m -> m.contains(mapping.address())).findFirst()
                .orElseThrow(() -> new AssertionError("no mapping of this process holds 0x" + Long.toHexString(mapping.address())));
    }
}
