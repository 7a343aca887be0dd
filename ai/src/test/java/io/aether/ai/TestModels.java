package io.aether.ai;

import io.aether.ai.onnx.OnnxModelBuilder;
import java.util.List;

/** Small ONNX models the tests build, with weights simple enough to compute results by hand. */
final class TestModels {

    private TestModels() {
    }

    /** W for {@link #linear}: 3x2. */
    static final float[] W1 = {1, -1, 2, 0, -1, 3};
    static final float[] B1 = {0.5f, -2};

    /**
     * Y = Relu(X·W + B) with X: float[N,3], W: float[3,2], B: float[2]; Y: float[N,2].
     */
    static byte[] linear(float[] w, float[] b) {
        return OnnxModelBuilder.create("linear")
                .input("X", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(3))
                .initializer("W", Tensor.ofFloats(new long[] {3, 2}, w))
                .initializer("B", Tensor.ofFloats(new long[] {2}, b))
                .node("MatMul", List.of("X", "W"), List.of("XW"))
                .node("Add", List.of("XW", "B"), List.of("XWB"))
                .node("Relu", List.of("XWB"), List.of("Y"))
                .output("Y", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(2))
                .build();
    }

    static byte[] linear() {
        return linear(W1, B1);
    }

    /** The hand computation of {@link #linear}: one row x (3 values) gives 2 values. */
    static float[] linearByHand(float[] w, float[] b, float[] x) {
        float[] y = new float[2];
        for (int j = 0; j < 2; j++) {
            float s = b[j];
            for (int i = 0; i < 3; i++) {
                s += x[i] * w[i * 2 + j];
            }
            y[j] = Math.max(0, s);
        }
        return y;
    }

    /** Y = X * k for X: float[N,1]: a model whose answer tells which version gave it. */
    static byte[] scale(float k) {
        return OnnxModelBuilder.create("scale")
                .input("X", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(1))
                .initializer("K", Tensor.ofFloats(new long[] {1}, k))
                .node("Mul", List.of("X", "K"), List.of("Y"))
                .output("Y", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(1))
                .build();
    }

    /** Like {@link #linear} but with a fixed first dimension of 1: not batchable. */
    static byte[] linearFixedBatch() {
        return OnnxModelBuilder.create("fixed")
                .input("X", ElementType.FLOAT, Dim.of(1), Dim.of(3))
                .initializer("W", Tensor.ofFloats(new long[] {3, 2}, W1))
                .initializer("B", Tensor.ofFloats(new long[] {2}, B1))
                .node("MatMul", List.of("X", "W"), List.of("XW"))
                .node("Add", List.of("XW", "B"), List.of("XWB"))
                .node("Relu", List.of("XWB"), List.of("Y"))
                .output("Y", ElementType.FLOAT, Dim.of(1), Dim.of(2))
                .build();
    }

    /**
     * Two inputs sharing the symbolic batch N, one int64 with a free dimension T:
     * S = A + B (float[N,2]) and C = Cast(ids, float) summed over T (float[N]).
     */
    static byte[] twoInputs() {
        return OnnxModelBuilder.create("two")
                .input("A", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(2))
                .input("B", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(2))
                .input("ids", ElementType.INT64, Dim.symbolic("N"), Dim.symbolic("T"))
                .node("Add", List.of("A", "B"), List.of("S"))
                .node("Cast", List.of("ids"), List.of("idsf"), OnnxModelBuilder.Attribute.of("to", 1L))
                .node("ReduceSum", List.of("idsf", "axes"), List.of("C"), OnnxModelBuilder.Attribute.of("keepdims", 0L))
                .initializer("axes", Tensor.ofLongs(new long[] {1}, 1))
                .output("S", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(2))
                .output("C", ElementType.FLOAT, Dim.symbolic("N"))
                .build();
    }
}
