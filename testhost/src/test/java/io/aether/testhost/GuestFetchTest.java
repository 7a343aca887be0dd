package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.guest.GuestArtifacts;
import io.aether.guest.GuestFetcher;
import io.aether.testkit.Prerequisites;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A real fetch from Debian's mirror into an empty cache, then a second fetch that reuses it. */
// Downloads about 27 MiB from Debian's mirror: 5.5 s here, far longer on a slow link.
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class GuestFetchTest {

    @Test
    void fetchesBuildsAndReuses(@TempDir Path cache) throws IOException {
        Prerequisites.require(HostProbe.onPath("apt-get", System.getenv("PATH")).isPresent()
                && HostProbe.onPath("dpkg-deb", System.getenv("PATH")).isPresent(),
                "aether guest fetch needs apt-get and dpkg-deb (a Debian-based host)");
        List<String> progress = new ArrayList<>();
        GuestArtifacts first;
        try {
            first = new GuestFetcher(cache, progress::add).fetch(false);
        } catch (IOException e) {
            throw Prerequisites.missing("cannot fetch from Debian's mirror: " + e.getMessage());
        }
        assertFalse(first.reused());
        assertTrue(first.kernelRelease().endsWith("-cloud-amd64"), first.kernelRelease());
        assertEquals(cache.resolve(first.kernelRelease()), first.directory());

        // A bzImage: the setup header's "HdrS" signature at 0x202 (Documentation/arch/x86/boot.rst).
        ByteBuffer header = ByteBuffer.wrap(Files.readAllBytes(first.kernel())).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x53726448, header.getInt(0x202));

        try (InputStream in = new GZIPInputStream(Files.newInputStream(first.initramfs()))) {
            assertEquals("070701", new String(in.readNBytes(6), StandardCharsets.US_ASCII));
        }
        assertEquals(List.of("virtio_ring.ko", "virtio.ko", "virtio_mmio.ko", "virtio_blk.ko", "failover.ko",
                "net_failover.ko", "virtio_net.ko", "virtio-rng.ko"), names(first.guestModules()));
        assertEquals(List.of("irqbypass.ko", "kvm.ko", "kvm-amd.ko", "tun.ko"), names(first.hostModules()));
        assertTrue(Files.isExecutable(first.busybox()));
        assertTrue(progress.stream().anyMatch(l -> l.startsWith("downloading linux-image-")), progress.toString());

        GuestArtifacts second = new GuestFetcher(cache, progress::add).fetch(false);
        assertTrue(second.reused());
        assertEquals(first.initramfs(), second.initramfs());
        assertTrue(progress.getLast().startsWith("using the cached guest " + first.kernelRelease()), progress.getLast());
        try (var left = Files.list(cache)) {
            assertEquals(List.of(first.kernelRelease()), left.map(p -> p.getFileName().toString()).toList(),
                    "no build directories are left behind");
        }
    }

    private static List<String> names(List<Path> files) {
        return files.stream().map(p -> p.getFileName().toString()).toList();
    }
}
