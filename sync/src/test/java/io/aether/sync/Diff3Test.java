package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class Diff3Test {

    private static final String BASE = "line1\nline2\nline3\nline4\nline5\n";

    @Test
    void changesInDifferentPlacesMergeCleanly() {
        String ours = "line1 ours\nline2\nline3\nline4\nline5\n";
        String theirs = "line1\nline2\nline3\nline4\nline5 theirs\nline6\n";
        Diff3.Result r = Diff3.merge(BASE, ours, theirs, "ours", "theirs");
        assertTrue(r.clean());
        assertEquals("line1 ours\nline2\nline3\nline4\nline5 theirs\nline6\n", r.text());
    }

    @Test
    void identicalChangesOnBothSidesAreNotAConflict() {
        String both = "line1\nLINE2\nline3\nline4\nline5\n";
        Diff3.Result r = Diff3.merge(BASE, both, both, "ours", "theirs");
        assertTrue(r.clean());
        assertEquals(both, r.text());
    }

    @Test
    void overlappingChangesConflictWithMarkers() {
        String ours = "line1\nline2 ours\nline3\nline4\nline5\n";
        String theirs = "line1\nline2 theirs\nline3\nline4\nline5\n";
        Diff3.Result r = Diff3.merge(BASE, ours, theirs, "ours (main)", "theirs (feature)");
        assertFalse(r.clean());
        assertEquals(1, r.conflicts());
        assertEquals("line1\n<<<<<<< ours (main)\nline2 ours\n||||||| base\nline2\n=======\nline2 theirs\n>>>>>>> theirs (feature)\n"
                + "line3\nline4\nline5\n", r.text());
    }

    @Test
    void aMissingFinalNewlineIsKept() {
        Diff3.Result r = Diff3.merge("a\nx\nb", "A\nx\nb", "a\nx\nb\nc", "o", "t");
        assertTrue(r.clean());
        assertEquals("A\nx\nb\nc", r.text());
    }

    @Test
    void adjacentChangesConflictAsInDiff3() {
        // No unchanged line separates the two edits, so they are one region changed on both sides.
        assertEquals(1, Diff3.merge("a\nb\n", "A\nb\n", "a\nB\n", "o", "t").conflicts());
    }

    @Test
    void deletionOnOneSideAndEditElsewhere() {
        String ours = "line1\nline3\nline4\nline5\n";
        String theirs = "line1\nline2\nline3\nline4\nline5 changed\n";
        Diff3.Result r = Diff3.merge(BASE, ours, theirs, "o", "t");
        assertTrue(r.clean());
        assertEquals("line1\nline3\nline4\nline5 changed\n", r.text());
    }
}
