package io.aether.ai.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.aether.ai.Dim;
import io.aether.ai.ElementType;
import io.aether.ai.Tensor;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OnnxModelBuilderTest {

    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @Test
    void varintsAndFieldTagsFollowTheWireFormat() {
        // field 1 varint 300: tag 0x08, then 300 = 0b1_0010_1100 -> 0xAC 0x02
        assertEquals("08ac02", HexFormat.of().formatHex(new ProtoWriter().varint(1, 300).toByteArray()));
        // field 12 length-delimited "Y": tag (12<<3)|2 = 0x62, length 1, 'Y'
        assertEquals("620159", HexFormat.of().formatHex(new ProtoWriter().string(12, "Y").toByteArray()));
        // a negative int64 takes ten bytes
        assertEquals(11, new ProtoWriter().varint(3, -1).toByteArray().length);
        // field 2 fixed32 float 1.0f: tag 0x15, 0x3F800000 little-endian
        assertEquals("150000803f", HexFormat.of().formatHex(new ProtoWriter().fixed32Float(2, 1.0f).toByteArray()));
    }

    @Test
    void theReadmeExampleLoadsWithItsSignatureAndComputes() throws Exception {
        byte[] model = OnnxModelBuilder.create("linear")
                .input("X", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(3))
                .initializer("W", Tensor.ofFloats(new long[] {3, 2}, 1, 2, 3, 4, 5, 6))
                .node("MatMul", List.of("X", "W"), List.of("Y"))
                .output("Y", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(2))
                .build();
        assertTrue(model.length < 300, "a small model: " + model.length + " bytes");
        try (OrtSession s = ENV.createSession(model)) {
            NodeInfo x = s.getInputInfo().get("X");
            TensorInfo info = (TensorInfo) x.getInfo();
            assertArrayEquals(new long[] {-1, 3}, info.getShape());
            assertEquals("N", info.getDimensionNames()[0]);
            // [1,1,1]·W = [1+3+5, 2+4+6]
            assertArrayEquals(new float[] {9, 12}, run(s, Map.of("X", new float[][] {{1, 1, 1}}), "Y"));
        }
    }

    @Test
    void attributesReachTheOperators() throws Exception {
        // Gemm: Y = alpha * A · B^T + beta * C, with transB = 1, alpha = 2, beta = 0.5
        byte[] model = OnnxModelBuilder.create("gemm")
                .input("A", ElementType.FLOAT, Dim.of(1), Dim.of(2))
                .initializer("B", Tensor.ofFloats(new long[] {2, 2}, 1, 2, 3, 4))
                .initializer("C", Tensor.ofFloats(new long[] {2}, 10, 20))
                .node("Gemm", List.of("A", "B", "C"), List.of("Y"),
                        OnnxModelBuilder.Attribute.of("transB", 1L),
                        OnnxModelBuilder.Attribute.of("alpha", 2.0f),
                        OnnxModelBuilder.Attribute.of("beta", 0.5f))
                .output("Y", ElementType.FLOAT, Dim.of(1), Dim.of(2))
                .build();
        try (OrtSession s = ENV.createSession(model)) {
            // A = [1, 1]; A·B^T = [1+2, 3+4] = [3, 7]; *2 = [6, 14]; + 0.5*[10, 20] = [11, 24]
            assertArrayEquals(new float[] {11, 24}, run(s, Map.of("A", new float[][] {{1, 1}}), "Y"));
        }
    }

    @Test
    void listAttributesAndTensorAttributes() throws Exception {
        // Transpose with perm = [1, 0], then Add a Constant whose value is a tensor attribute.
        byte[] model = OnnxModelBuilder.create("lists")
                .input("X", ElementType.FLOAT, Dim.of(2), Dim.of(3))
                .node("Transpose", List.of("X"), List.of("T"), new OnnxModelBuilder.Attribute.Ints("perm", new long[] {1, 0}))
                .node("Constant", List.of(), List.of("K"), new OnnxModelBuilder.Attribute.TensorValue("value",
                        Tensor.ofFloats(new long[] {1}, 100)))
                .node("Add", List.of("T", "K"), List.of("Y"))
                .output("Y", ElementType.FLOAT, Dim.of(3), Dim.of(2))
                .build();
        try (OrtSession s = ENV.createSession(model)) {
            float[] y = run(s, Map.of("X", new float[][] {{1, 2, 3}, {4, 5, 6}}), "Y");
            assertArrayEquals(new float[] {101, 104, 102, 105, 103, 106}, y);
        }
    }

    private static float[] run(OrtSession s, Map<String, float[][]> inputs, String output) throws Exception {
        Map<String, OnnxTensor> tensors = new HashMap<>();
        try {
            for (var e : inputs.entrySet()) {
                tensors.put(e.getKey(), OnnxTensor.createTensor(ENV, e.getValue()));
            }
            try (OrtSession.Result r = s.run(tensors)) {
                FloatBuffer b = ((OnnxTensor) r.get(output).orElseThrow()).getFloatBuffer();
                float[] out = new float[b.remaining()];
                b.get(out);
                return out;
            }
        } finally {
            tensors.values().forEach(OnnxTensor::close);
        }
    }
}
