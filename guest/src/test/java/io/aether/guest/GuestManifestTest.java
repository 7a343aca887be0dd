package io.aether.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestManifestTest {

    private static final GuestManifest MANIFEST = new GuestManifest("linux-image-6.1.0-56-cloud-amd64", "6.1.192-2",
            "6.1.0-56-cloud-amd64", "1:1.35.0-4+deb12u1+b1", GuestFetcher.recipe(),
            List.of("virtio_ring.ko", "virtio.ko"), List.of("irqbypass.ko", "kvm.ko", "kvm-amd.ko"));

    private static void populate(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("modules"));
        for (String f : List.of("vmlinuz", "initramfs.cpio.gz", "busybox", "modules/virtio_ring.ko", "modules/virtio.ko",
                "modules/irqbypass.ko", "modules/kvm.ko", "modules/kvm-amd.ko")) {
            Files.writeString(dir.resolve(f), f);
        }
    }

    @Test
    void roundTripsAndDescribesTheArtifacts(@TempDir Path dir) throws IOException {
        populate(dir);
        MANIFEST.write(dir.resolve(GuestManifest.FILE));
        assertEquals(Optional.of(MANIFEST), GuestManifest.read(dir));

        GuestArtifacts a = MANIFEST.artifacts(dir, true);
        assertEquals(dir.resolve("vmlinuz"), a.kernel());
        assertEquals(dir.resolve("initramfs.cpio.gz"), a.initramfs());
        assertEquals(List.of(dir.resolve("modules/virtio_ring.ko"), dir.resolve("modules/virtio.ko")), a.guestModules());
        assertEquals(dir.resolve("modules/kvm-amd.ko"), a.hostModule("kvm_amd"));
        assertThrows(IllegalArgumentException.class, () -> a.hostModule("tun"));
        String json = a.toJson();
        assertTrue(json.startsWith("{\"kernelRelease\":\"6.1.0-56-cloud-amd64\",\"kernelPackageVersion\":\"6.1.192-2\""), json);
        assertTrue(json.contains(",\"reused\":true}"), json);
    }

    @Test
    void aMissingFileOrADamagedManifestIsNoCache(@TempDir Path dir) throws IOException {
        populate(dir);
        MANIFEST.write(dir.resolve(GuestManifest.FILE));
        Files.delete(dir.resolve("modules/kvm.ko"));
        assertEquals(Optional.empty(), GuestManifest.read(dir));

        populate(dir);
        Files.writeString(dir.resolve(GuestManifest.FILE), "kernel.release=../../etc\n");
        assertEquals(Optional.empty(), GuestManifest.read(dir));
    }

    @Test
    void theReleaseMustBeAPlainDirectoryName() {
        assertThrows(IllegalArgumentException.class, () -> new GuestManifest("p", "1", "../x", "1", "r", List.of(), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new GuestManifest("p", "1", "a/b", "1", "r", List.of(), List.of()));
        assertThrows(IllegalArgumentException.class,
                () -> new GuestManifest("p", "1", "6.1", "1", "r", List.of("../x.ko"), List.of()));
    }
}
