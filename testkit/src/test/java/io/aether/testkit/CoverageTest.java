package io.aether.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CoverageTest {

    @Test
    void percentagesCountTheTriesThatReachedALabel() {
        Coverage coverage = new Coverage();
        Property.forAll(Gen.ints(0, 3)).tries(400).seed(5).check(n -> {
            coverage.collect("zero", n == 0);
            coverage.collect("any", true);
        });
        assertEquals(100.0, coverage.percent("any"));
        double zero = coverage.percent("zero");
        // 0 is an edge case and the value nearest 0: well above a quarter.
        coverage.require("zero", 25);
        assertEquals(zero, coverage.percent("zero"));
        var e = assertThrows(AssertionError.class, () -> coverage.require("zero", 90));
        assertEquals(String.format("coverage of 'zero' is %.1f%% (%d of 400 tries); at least 90.0%% is required", zero,
                Math.round(zero * 4)), e.getMessage().lines().findFirst().orElseThrow());
        List<String> table = coverage.toString().lines().toList();
        assertEquals(2, table.size());
        assertTrue(table.get(0).matches("  zero +\\d+\\.\\d% \\(" + Math.round(zero * 4) + " of 400\\)"), table.get(0));
        assertTrue(table.get(1).matches("  any +100\\.0% \\(400 of 400\\)"), table.get(1));
    }

    @Test
    void aLabelNoTryReportedOnFails() {
        Coverage coverage = new Coverage();
        coverage.collect("served", false);
        assertEquals(0.0, coverage.percent("served"));
        var e = assertThrows(AssertionError.class, () -> coverage.require("refused", 1));
        assertEquals("no try reported on 'refused'; labels seen: [served]", e.getMessage());
    }
}
