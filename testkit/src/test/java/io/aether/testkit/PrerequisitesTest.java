package io.aether.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

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
}
