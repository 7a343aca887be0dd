package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OnnxInitializersTest {

    @Test
    void listsInitializersWithTypeShapeAndHash() {
        Map<String, float[]> t = new LinkedHashMap<>();
        t.put("W", new float[] {1, 2, 3, 4, 5, 6});
        t.put("B", new float[] {0.5f});
        Map<String, OnnxInitializers.Tensor> got = OnnxInitializers.parse(TestModels.onnx(t));
        assertEquals(List.of("W", "B"), List.copyOf(got.keySet()));
        assertEquals(1, got.get("W").dataType());
        assertEquals(List.of(6L), got.get("W").dims());
        assertEquals("float32", OnnxInitializers.typeName(got.get("B").dataType()));
        assertNotEquals(got.get("W").dataHash(), got.get("B").dataHash());
    }

    @Test
    void tensorChangesNameAddedRemovedAndChanged() {
        Map<String, float[]> a = new LinkedHashMap<>();
        a.put("keep", new float[] {1, 2});
        a.put("tune", new float[] {3, 4});
        a.put("drop", new float[] {5});
        Map<String, float[]> b = new LinkedHashMap<>();
        b.put("keep", new float[] {1, 2});
        b.put("tune", new float[] {3, 4.5f});
        b.put("head", new float[] {6, 7, 8});
        List<TensorChange> ch = Differ.tensorChanges(OnnxInitializers.parse(TestModels.onnx(a)), OnnxInitializers.parse(TestModels.onnx(b)));
        assertEquals(List.of("tune:CHANGED", "drop:REMOVED", "head:ADDED"),
                ch.stream().map(c -> c.name() + ":" + c.kind()).toList());
        assertEquals("", ch.get(2).before());
        assertEquals(true, ch.get(2).after().startsWith("float32[3]"));
    }

    @Test
    void truncatedModelIsRefusedWithTheOffset() {
        byte[] m = TestModels.onnx(Map.of("W", new float[] {1, 2, 3}));
        byte[] cut = java.util.Arrays.copyOf(m, m.length - 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OnnxInitializers.parse(cut));
        assertEquals(true, e.getMessage().contains("offset"), e.getMessage());
    }

    @Test
    void garbageIsRefusedCleanly() {
        Property.forAll(Gen.bytes(0, 300)).tries(2000).check(junk -> {
            try {
                OnnxInitializers.parse(junk);
            } catch (IllegalArgumentException expected) {
                // Refused with a reason: fine.
            }
        });
    }
}
