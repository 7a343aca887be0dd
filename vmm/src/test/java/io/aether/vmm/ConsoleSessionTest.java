package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ConsoleSessionTest {

    private static byte[] filter(ConsoleSession session, String keys) {
        byte[] b = keys.getBytes(StandardCharsets.ISO_8859_1);
        return session.filter(b, b.length);
    }

    @Test
    void withoutEscapesEveryByteGoesToTheGuest() {
        var session = ConsoleSession.start(new ByteArrayInputStream(new byte[0]), false);
        assertArrayEquals("a\u0001x\u0003".getBytes(StandardCharsets.ISO_8859_1), filter(session, "a\u0001x\u0003"));
    }

    @Test
    void ctrlACtrlASendsOneCtrlAAndUnknownCommandsAreSwallowed() {
        var session = ConsoleSession.start(new ByteArrayInputStream(new byte[0]), true);
        assertArrayEquals("ab\u0001c".getBytes(StandardCharsets.ISO_8859_1), filter(session, "ab\u0001\u0001c"));
        assertArrayEquals("d".getBytes(StandardCharsets.ISO_8859_1), filter(session, "\u0001zd"));
        // An escape split across two reads still counts.
        assertArrayEquals(new byte[0], filter(session, "\u0001"));
        assertArrayEquals(new byte[] {1}, filter(session, "\u0001"));
    }

    @Test
    void ctrlAXEndsTheSession() {
        var session = ConsoleSession.start(new ByteArrayInputStream(new byte[0]), true);
        assertNull(filter(session, "ls\u0001x"));
    }
}
