package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ScenarioTest {

    @Test
    void quotesForTheShell() {
        assertEquals("'plain'", Scenario.quote("plain"));
        assertEquals("'it'\\''s'", Scenario.quote("it's"));
        assertEquals("'$HOME `x`'", Scenario.quote("$HOME `x`"));
    }

    @Test
    void aetherVmBootsTheFetchedGuest() {
        Scenario s = Scenario.aetherVm("--mem", "256M", "--disk", "d.img,ro").build();
        assertEquals("exec aether vm run --kernel \"$GUEST_KERNEL\" --initrd \"$GUEST_INITRD\" --cmdline 'console=ttyS0 quiet panic=-1'"
                + " '--mem' '256M' '--disk' 'd.img,ro'\n", s.scriptText());
        assertEquals(false, s.needsQemu());
        assertEquals(true, s.needsJava());
        assertEquals(Duration.ofMinutes(5), s.timeout());
    }

    @Test
    void qemuMicrovmIsThePeer() {
        Scenario s = Scenario.qemuMicrovm().timeout(Duration.ofMinutes(3)).build();
        assertEquals(true, s.needsQemu());
        assertEquals(Duration.ofMinutes(3), s.timeout());
        assertEquals("exec \"$QEMU\" -enable-kvm -M microvm,rtc=on -cpu host -m 256M -smp 2 -nodefaults -no-user-config"
                + " -nographic -serial stdio -no-reboot -kernel \"$GUEST_KERNEL\" -initrd \"$GUEST_INITRD\""
                + " -append 'console=ttyS0 quiet panic=-1'\n", s.scriptText());
    }

    @Test
    void scenarioFilesHaveSafeUniqueNames() {
        Scenario.Builder b = Scenario.script("true").text("disk/readme.txt", "x");
        assertThrows(IllegalArgumentException.class, () -> b.text("disk/readme.txt", "y"));
        for (String bad : List.of("../x", "/etc/passwd", "a/./b", "run.sh", "bin/aether", "a b", "")) {
            assertThrows(IllegalArgumentException.class, () -> b.text(bad, "y"), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> b.file("f", Path.of("/no/such/file")));
        assertThrows(IllegalArgumentException.class, () -> b.timeout(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> Scenario.script(" \n"));
    }

    @Test
    void theDirectoryHoldsTheScriptTheFilesAndTheWrapper() {
        Scenario s = Scenario.script("aether --version\n").text("notes.txt", "n").build();
        Map<String, Scenario.FileContent> files = ScenarioFiles.of(s, Optional.of(
                new ScenarioFiles.JavaCommand("/j/bin/java", List.of("/p/a.jar", "/p/it's.jar"), "")));
        assertEquals(List.of("notes.txt", "run.sh", "bin/aether"), List.copyOf(files.keySet()));
        assertEquals(new Scenario.Text("aether --version\n", 0755), files.get("run.sh"));
        assertEquals("#!/bin/sh\n# Runs Aether's CLI for a test scenario (written by io.aether.testhost).\n"
                + "exec '/j/bin/java' -cp '/p/a.jar:/p/it'\\''s.jar' io.aether.cli.Main \"$@\"\n",
                ((Scenario.Text) files.get("bin/aether")).text());
        assertEquals(List.of("notes.txt", "run.sh"), List.copyOf(ScenarioFiles.of(s, Optional.empty()).keySet()));
    }

    @Test
    void theEnvironmentNamesTheGuestAndTheTools() {
        assertEquals(Map.of("GUEST_KERNEL", "/g/vmlinuz", "GUEST_INITRD", "/g/initrd", "QEMU", "/usr/bin/qemu",
                        "AETHER", "/s/bin/aether"),
                ScenarioFiles.environment(Path.of("/s"), Path.of("/g/vmlinuz"), Path.of("/g/initrd"),
                        Optional.of(Path.of("/usr/bin/qemu")), true));
        assertEquals(Map.of("GUEST_KERNEL", "/g/vmlinuz", "GUEST_INITRD", "/g/initrd"),
                ScenarioFiles.environment(Path.of("/s"), Path.of("/g/vmlinuz"), Path.of("/g/initrd"),
                        Optional.empty(), false));
    }
}
