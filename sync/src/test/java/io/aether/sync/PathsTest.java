package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Each refused path is refused with its own reason, naming the path. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PathsTest {

    private static final ObjectId A = ObjectId.hash(new byte[] {1});

    @Test
    void eachRefusalSaysWhatIsWrong() {
        Map<String, String> expected = Map.of(
                "/x", "absolute paths are not allowed: /x",
                "/etc/passwd", "absolute paths are not allowed: /etc/passwd",
                "a//b", "empty segments ('//' or a trailing '/') are not allowed: a//b",
                "models/", "empty segments ('//' or a trailing '/') are not allowed: models/",
                "../x", "'.' and '..' segments are not allowed: ../x",
                "a/./b", "'.' and '..' segments are not allowed: a/./b",
                ".aether/objects", "inside the repository's own .aether directory: .aether/objects",
                "a\u0001b", "control character or backslash in path: a\\u0001b");
        expected.forEach((path, message) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new FileEntry(path, 1, A), path);
            assertEquals(message, e.getMessage());
        });
        assertEquals("empty path", assertThrows(IllegalArgumentException.class, () -> Paths.requireValid("")).getMessage());
        assertNull(Paths.problem("models/net.onnx"));
        assertNull(Paths.problem("a/.hidden/..b"));
    }

    @Test
    void aTreeFromAnotherMachineWithAnAbsolutePathIsRefusedAsSuch() {
        byte[] path = "/etc/cron.d/x".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(1 + 4 + 2 + path.length + 32 + 8);
        b.put((byte) 3).putInt(1).putShort((short) path.length).put(path).put(A.bytes()).putLong(1);
        CorruptObjectException e = assertThrows(CorruptObjectException.class, () -> Codec.decodeTree(A, b.array()));
        assertTrue(e.getMessage().endsWith("tree entry '/etc/cron.d/x': absolute paths are not allowed"), e.getMessage());
    }
}
