package io.aether.guest;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What can be checked of the arm64 guest fetch without Debian's mirror (the arm64 test host boots what it builds). */
@Timeout(10)
class Arm64GuestFetcherTest {

    @Test
    void everyCommandTheInitRunsIsAnAppletOfTheArm64Initramfs() {
        Set<String> applets = Arm64GuestFetcher.APPLETS.stream().map(a -> Path.of(a).getFileName().toString()).collect(Collectors.toSet());
        // The commands of GuestInit's script that are not shell builtins, read off the script by hand.
        for (String command : List.of("sh", "mount", "mkdir", "insmod", "cat", "poweroff", "setsid", "cttyhack", "sync")) {
            assertTrue(applets.contains(command), command + " is not linked: " + applets);
        }
        assertTrue(GuestInit.script(List.of()).contains("setsid cttyhack sh"), "the init's shell line changed: check the applets");
    }

    @Test
    void theArm64RecipeFollowsTheX86OneAndDiffersFromIt() {
        assertNotEquals(GuestFetcher.recipe(), Arm64GuestFetcher.recipe());
        assertTrue(Arm64GuestFetcher.recipe().startsWith(GuestFetcher.recipe()), "an x86 init or module change rebuilds arm64 too");
    }
}
