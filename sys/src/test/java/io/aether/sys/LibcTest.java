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
    void readAndWriteMoveBytesThroughDescriptors() {
        int zero = Libc.open("/dev/zero", Libc.O_RDONLY, 0);
        int sink = Libc.open("/dev/null", Libc.O_WRONLY, 0);
        try (Arena arena = Arena.ofConfined()) {
            var buf = arena.allocate(64);
            buf.fill((byte) 7);
            assertEquals(16, Libc.read(zero, buf, 16));
            assertEquals(0, buf.get(ValueLayout.JAVA_BYTE, 15));
            assertEquals(7, buf.get(ValueLayout.JAVA_BYTE, 16), "read no more than asked");
            assertEquals(64, Libc.write(sink, buf, 64));
            assertTrue(Libc.pollIn(zero, 0), "/dev/zero is always readable");
        } finally {
            Libc.close(zero);
            Libc.close(sink);
        }
    }
}
