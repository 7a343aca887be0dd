package io.aether.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

@Timeout(30)
class PrerequisitesTest {

    @Test
    void ciIsTheCiVariableSetToTrue() {
        assertTrue(Prerequisites.inCi(Map.of("CI", "true")));
        assertTrue(Prerequisites.inCi(Map.of("CI", "TRUE ")));
        assertFalse(Prerequisites.inCi(Map.of("CI", "false")));
        assertFalse(Prerequisites.inCi(Map.of("CI", "")));
        assertFalse(Prerequisites.inCi(Map.of()));
    }

    @Test
    void aMissingPrerequisiteFailsInCiAndSkipsElsewhere() {
        Prerequisites.require(true, "present");
        if (Prerequisites.inCi()) {
            var e = assertThrows(AssertionFailedError.class, () -> Prerequisites.require(false, "no qemu"));
            assertEquals("prerequisite missing in CI (CI=true): no qemu", e.getMessage());
        } else {
            var e = assertThrows(TestAbortedException.class, () -> Prerequisites.require(false, "no qemu"));
            assertEquals("prerequisite missing: no qemu", e.getMessage());
        }
    }

    @Test
    void aTestNeedingKvmRunsWhereTheDeviceIsUsableAndIsHandedToTheNestedHostOnlyWhenRunTestsSaysSo(@TempDir Path dir) throws Exception {
        Path usable = Files.createFile(dir.resolve("kvm"));
        Prerequisites.requireKvm(usable, Map.of("AETHER_KVM_TESTS", "nested"));
        Prerequisites.requireKvm(usable, Map.of());

        Path missing = dir.resolve("absent");
        var handed = assertThrows(TestAbortedException.class, () -> Prerequisites.requireKvm(missing, Map.of("AETHER_KVM_TESTS", "nested")));
        assertEquals(Prerequisites.KVM_IN_NESTED_HOST, handed.getMessage());
        // Without run-tests' word the ordinary policy holds: a failure in CI, a skip that says why elsewhere.
        Class<? extends Throwable> expected = Prerequisites.inCi() ? AssertionFailedError.class : TestAbortedException.class;
        var other = assertThrows(expected, () -> Prerequisites.requireKvm(missing, Map.of("AETHER_KVM_TESTS", "elsewhere")));
        assertTrue(other.getMessage().endsWith(missing + " is not usable by this user"), other.getMessage());
    }
}
