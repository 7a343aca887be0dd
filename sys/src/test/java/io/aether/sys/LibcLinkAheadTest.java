package io.aether.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link Libc#linkAhead}: the downcalls linked on a thread of their own while callers use them. */
@Timeout(60)
class LibcLinkAheadTest {

    @Test
    void callsMadeWhileTheDowncallsAreLinkedAheadWorkAndTheLinkingEnds() throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> callers = new ArrayList<>();
        // Callers race the linking thread for the same holders: each call must still find its handle linked once.
        for (int i = 0; i < 4; i++) {
            callers.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    int zero = Libc.open("/dev/zero", Libc.O_RDONLY, 0);
                    try (Arena arena = Arena.ofConfined()) {
                        var buf = arena.allocate(8);
                        buf.fill((byte) 1);
                        assertEquals(8, Libc.read(zero, buf, 8));
                        assertEquals(0, buf.get(ValueLayout.JAVA_LONG, 0));
                        assertTrue(Libc.pollIn(zero, 0));
                    } finally {
                        Libc.close(zero);
                    }
                    int fd = Libc.eventfd(0, Libc.O_CLOEXEC);
                    assertFalse(Libc.pollIn(fd, 0), "a new eventfd is not readable");
                    Libc.close(fd);
                    var m = Libc.mmap("mmap", 4096, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
                    Libc.munmap(m);
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        go.countDown();
        Thread linking = Libc.linkAhead();
        assertNotNull(linking);
        linking.join();
        for (Thread t : callers) t.join();
        assertEquals(List.of(), List.copyOf(failures));
        assertEquals("libc-link-ahead", linking.getName());
        assertTrue(linking.isDaemon(), "it must never keep the monitor's process alive");
        assertTrue(Libc.pthreadSelf() != 0);
    }

    @Test
    void offLinksNothingAhead() {
        String before = System.getProperty(Libc.LINK_AHEAD_PROPERTY);
        System.setProperty(Libc.LINK_AHEAD_PROPERTY, "off");
        try {
            assertNull(Libc.linkAhead());
        } finally {
            if (before == null) System.clearProperty(Libc.LINK_AHEAD_PROPERTY);
            else System.setProperty(Libc.LINK_AHEAD_PROPERTY, before);
        }
    }

    @Test
    void everyHolderLinkedAheadIsOneOfLibcs() {
        // Linking a holder that no start reaches would cost the start for nothing: each one here is one of Libc's own.
        for (Class<?> holder : Libc.LINKED_AHEAD) {
            assertTrue(holder.getEnclosingClass() == Libc.class, holder.getName());
        }
        assertEquals(Libc.LINKED_AHEAD.size(), Libc.LINKED_AHEAD.stream().distinct().count());
    }
}
