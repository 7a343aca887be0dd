package io.aether.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestImageTest {

    @Test
    void holdsBusyboxAppletsModulesConsoleAndInit(@TempDir Path dir) throws IOException {
        Path busybox = Files.writeString(dir.resolve("busybox"), "static busybox");
        Path ring = TestModules.write(dir, "virtio_ring.ko", "virtio_ring", List.of());
        Path virtio = TestModules.write(dir, "virtio.ko", "virtio", List.of("virtio_ring"));
        Initramfs image = GuestImage.layout(busybox, List.of("bin/busybox", "bin/sh", "sbin/insmod", "usr/bin/setsid", ""),
                List.of(ring, virtio));

        assertEquals(new Initramfs.CharDevice(0600, 5, 1), image.get("dev/console"));
        assertEquals(new Initramfs.CharDevice(0666, 1, 3), image.get("dev/null"));
        assertEquals(new Initramfs.Directory(01777), image.get("tmp"));
        var bb = assertInstanceOf(Initramfs.RegularFile.class, image.get("bin/busybox"));
        assertEquals(new Initramfs.HostFile(busybox), bb.content());
        assertEquals(0755, bb.permissions());
        assertEquals(new Initramfs.Symlink("/bin/busybox"), image.get("bin/sh"));
        assertEquals(new Initramfs.Symlink("/bin/busybox"), image.get("sbin/insmod"));
        assertEquals(new Initramfs.Symlink("/bin/busybox"), image.get("usr/bin/setsid"));
        assertEquals(new Initramfs.HostFile(virtio),
                assertInstanceOf(Initramfs.RegularFile.class, image.get("lib/modules/virtio.ko")).content());

        var init = assertInstanceOf(Initramfs.RegularFile.class, image.get("init"));
        assertEquals(0755, init.permissions());
        String script = assertInstanceOf(Initramfs.Bytes.class, init.content()).text();
        assertTrue(script.contains("for ko in virtio_ring.ko virtio.ko; do"), script);
        assertTrue(script.startsWith("#!/bin/sh\n"), script);
    }
}
