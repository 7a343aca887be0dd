package io.aether.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class LibcTest {

    @Test
    void aFailedOpenNamesTheCallAndTheErrno() {
        var e = assertThrows(NativeCallException.class,
                () -> Libc.open("/nonexistent/aether", Libc.O_RDONLY, 0));
        assertEquals("open /nonexistent/aether failed: ENOENT (No such file or directory)", e.getMessage());
        assertEquals(Errno.ENOENT, e.errno());
    }

    @Test
    void aBadIoctlNamesTheRequest() {
        int fd = Libc.open("/dev/null", Libc.O_RDONLY, 0);
        try {
            var e = assertThrows(NativeCallException.class, () -> Libc.ioctl("KVM_GET_API_VERSION", fd, 0xAE00, 0));
            assertEquals("KVM_GET_API_VERSION failed: ENOTTY (Inappropriate ioctl for device)", e.getMessage());
            assertEquals(-Errno.ENOTTY, Libc.ioctlErrno(fd, 0xAE00, 0));
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void anonymousMappingsAreSizedAndWritable() {
        var m = Libc.mmap("mmap", 1 << 20, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        assertEquals(1 << 20, m.byteSize());
        m.set(ValueLayout.JAVA_LONG, (1 << 20) - 8, 0x1122334455667788L);
        assertEquals(0x1122334455667788L, m.get(ValueLayout.JAVA_LONG, (1 << 20) - 8));
        Libc.munmap(m);
    }

    @Test
    void eventfdCarriesCounts() {
        int fd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            var buf = arena.allocate(8);
            buf.set(ValueLayout.JAVA_LONG, 0, 3);
            assertEquals(8, Libc.write(fd, buf, 8));
            buf.set(ValueLayout.JAVA_LONG, 0, 0);
            assertEquals(8, Libc.read(fd, buf, 8));
            assertEquals(3, buf.get(ValueLayout.JAVA_LONG, 0));
            assertTrue(Libc.getpid() > 0);
        } finally {
            Libc.close(fd);
        }
    }
}
