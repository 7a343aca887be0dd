package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What {@code aether node} says and does about the host's KSM at start ({@code --ksm}), on a folder standing for /sys/kernel/mm/ksm. */
@Timeout(10)
class KsmTest {

    @TempDir
    Path dir;

    @Test
    void ksmIsStartedOnlyWhenAskedAndSaidInEveryCase() throws Exception {
        Path run = dir.resolve("run");
        Ksm ksm = new Ksm(dir, dir.resolve("proc"));
        Files.writeString(run, "0\n");
        assertEquals("page merging: KSM is stopped on this host (" + run + " = 0): monitors run unmerged; --ksm starts it", ksm.startUp(false));
        assertEquals("0\n", Files.readString(run), "not asked: unchanged");
        assertEquals("page merging: --ksm started KSM on this host (" + run + " = 1, a host setting: left on when the agent stops)", ksm.startUp(true));
        assertEquals("1", Files.readString(run));
        assertEquals("page merging: KSM runs on this host (" + run + " = 1): the monitors' identical pages are shared, never their guests'",
                ksm.startUp(true));
    }

    @Test
    void noKsmOrAGarbledSettingIsOneLineAndChangesNothing() throws Exception {
        Path run = dir.resolve("run");
        Ksm ksm = new Ksm(dir, dir.resolve("proc"));
        assertEquals("page merging: this kernel has no KSM (" + run + " is missing): monitors run unmerged", ksm.startUp(true));
        Files.writeString(run, "7\n");
        assertEquals("page merging: " + run + ": 7 is not 0, 1 or 2: monitors run unmerged", ksm.startUp(true));
        Files.writeString(run, "x".repeat(100));
        assertEquals("page merging: " + run + ": not a number the kernel writes: monitors run unmerged", ksm.startUp(true));
        assertEquals("x".repeat(100), Files.readString(run));
    }
}
