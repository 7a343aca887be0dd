package io.aether.sync;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;

/**
 * Writes small ONNX models as protobuf bytes (no model can be downloaded here): a ModelProto
 * (ir_version 1 = 8, opset_import 8 = {domain "", version 17}, graph 7) whose GraphProto has
 * one float initializer per entry (TensorProto: dims 1, data_type 2 = FLOAT, name 8, raw_data 9).
 */
final class TestModels {

    private TestModels() {
    }

    /** A model whose initializers are {@code tensors} (name -> values, 1-D). */
    static byte[] onnx(Map<String, float[]> tensors) {
        ByteArrayOutputStream graph = new ByteArrayOutputStream();
        writeString(graph, 2, "test-graph");
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            writeBytes(graph, 5, tensor(e.getKey(), e.getValue()));
        }
        ByteArrayOutputStream opset = new ByteArrayOutputStream();
        writeString(opset, 1, "");
        writeVarintField(opset, 2, 17);
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        writeVarintField(model, 1, 8);
        writeString(model, 2, "aether-tests");
        writeBytes(model, 8, opset.toByteArray());
        writeBytes(model, 7, graph.toByteArray());
        return model.toByteArray();
    }

    static byte[] tensor(String name, float[] values) {
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        writeVarintField(t, 1, values.length);
        writeVarintField(t, 2, 1);
        writeString(t, 8, name);
        ByteBuffer raw = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            raw.putFloat(v);
        }
        writeBytes(t, 9, raw.array());
        return t.toByteArray();
    }

    /** Reproducible pseudo-random weights. */
    static float[] weights(long seed, int n) {
        Random r = new Random(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) r.nextGaussian();
        }
        return w;
    }

    /** Reproducible pseudo-random bytes. */
    static byte[] bytes(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static void writeVarint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static void writeVarintField(ByteArrayOutputStream out, int field, long v) {
        writeVarint(out, (long) field << 3);
        writeVarint(out, v);
    }

    private static void writeBytes(ByteArrayOutputStream out, int field, byte[] b) {
        writeVarint(out, ((long) field << 3) | 2);
        writeVarint(out, b.length);
        out.writeBytes(b);
    }

    private static void writeString(ByteArrayOutputStream out, int field, String s) {
        writeBytes(out, field, s.getBytes(StandardCharsets.UTF_8));
    }
}
