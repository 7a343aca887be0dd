package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A standby's warm-up takes the Linux guest's build path with a bzImage of its own. */
@Timeout(60)
class LinuxWarmUpTest {

    @Test
    void theWarmUpsBzImageHasTheBootProtocolsMarksWhereBootRstPutsThem() {
        byte[] image = MonitorCommand.minimalBzImage();
        assertEquals(2 * 512 + 8192, image.length, "one setup sector after the boot sector, then syssize 512 paragraphs");
        assertArrayEquals(new byte[] {0x00, 0x02, 0x00, 0x00}, Arrays.copyOfRange(image, 0x1F4, 0x1F8), "syssize 512, little-endian");
        assertTrue(image.length > 4096, "longer than the 4 KiB the loader reads for the header: its kernel is read from the file");
        assertArrayEquals(new byte[] {0x55, (byte) 0xAA}, Arrays.copyOfRange(image, 0x1FE, 0x200), "boot_flag");
        assertArrayEquals("HdrS".getBytes(), Arrays.copyOfRange(image, 0x202, 0x206), "header magic");
        assertArrayEquals(new byte[] {0x0F, 0x02}, Arrays.copyOfRange(image, 0x206, 0x208), "protocol 2.15");
        assertEquals(1, image[0x236] & 1, "XLF_KERNEL_64");
    }

    /** The product's own loader, devices and ACPI tables accept it: a VM is built from it and closed. */
    @Test
    void aVmIsBuiltFromItWithAnInitrdAndADisk(@TempDir Path dir) throws Exception {
        MonitorProcesses.requireKvm();
        MonitorCommand.warmUpLinuxBuild(dir);
        assertTrue(Files.size(dir.resolve("warm-up.bzImage")) > 0);
    }
}
