package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class JsonMergeTest {

    private static JsonMerge.Result merge(String b, String o, String t) {
        return JsonMerge.merge(b == null ? null : JsonMerge.parse(bytes(b)), JsonMerge.parse(bytes(o)), JsonMerge.parse(bytes(t)));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void differentKeysChangedOnEachSideMerge() {
        JsonMerge.Result r = merge("{\"lr\":0.1,\"batch\":32,\"opt\":{\"name\":\"adam\",\"beta\":0.9}}",
                "{\"lr\":0.2,\"batch\":32,\"opt\":{\"name\":\"adam\",\"beta\":0.9}}",
                "{\"lr\":0.1,\"batch\":64,\"opt\":{\"name\":\"adam\",\"beta\":0.99},\"new\":true}");
        assertTrue(r.clean(), r.conflicts().toString());
        assertEquals(JsonMerge.parse(bytes("{\"lr\":0.2,\"batch\":64,\"opt\":{\"name\":\"adam\",\"beta\":0.99},\"new\":true}")),
                JsonMerge.parse(r.merged()));
    }

    @Test
    void aKeyRemovedOnOneSideStaysRemoved() {
        JsonMerge.Result r = merge("{\"a\":1,\"b\":2}", "{\"b\":2}", "{\"a\":1,\"b\":3}");
        assertTrue(r.clean());
        assertEquals(JsonMerge.parse(bytes("{\"b\":3}")), JsonMerge.parse(r.merged()));
    }

    @Test
    void theSameKeyChangedDifferentlyIsAConflictNamingThePath() {
        JsonMerge.Result r = merge("{\"opt\":{\"lr\":0.1},\"x\":1}", "{\"opt\":{\"lr\":0.2},\"x\":1}", "{\"opt\":{\"lr\":0.3},\"x\":2}");
        assertEquals(List.of("opt.lr"), r.conflicts());
    }

    @Test
    void filesAddedOnBothSidesMergeAgainstAnEmptyBase() {
        JsonMerge.Result r = merge(null, "{\"a\":1}", "{\"b\":2}");
        assertTrue(r.clean());
        assertEquals(JsonMerge.parse(bytes("{\"a\":1,\"b\":2}")), JsonMerge.parse(r.merged()));
    }

    @Test
    void notJsonIsNull() {
        assertEquals(null, JsonMerge.parse(bytes("{not json")));
    }
}
