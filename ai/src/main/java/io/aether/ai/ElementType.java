package io.aether.ai;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo.OnnxTensorType;
import java.util.Locale;
import java.util.Optional;

/**
 * The tensor element types this runtime serves, with their ONNX {@code TensorProto.DataType}
 * codes. Models whose inputs or outputs use any other type (string, unsigned 16/32/64-bit,
 * complex, float8) are refused when they are loaded.
 */
public enum ElementType {
    FLOAT(1, 4, OnnxJavaType.FLOAT),
    UINT8(2, 1, OnnxJavaType.UINT8),
    INT8(3, 1, OnnxJavaType.INT8),
    INT16(5, 2, OnnxJavaType.INT16),
    INT32(6, 4, OnnxJavaType.INT32),
    INT64(7, 8, OnnxJavaType.INT64),
    BOOL(9, 1, OnnxJavaType.BOOL),
    FLOAT16(10, 2, OnnxJavaType.FLOAT16),
    DOUBLE(11, 8, OnnxJavaType.DOUBLE),
    BFLOAT16(16, 2, OnnxJavaType.BFLOAT16);

    private final int onnxCode;
    private final int byteSize;
    private final OnnxJavaType ortType;

    ElementType(int onnxCode, int byteSize, OnnxJavaType ortType) {
        this.onnxCode = onnxCode;
        this.byteSize = byteSize;
        this.ortType = ortType;
    }

    /** The ONNX {@code TensorProto.DataType} code (onnx.proto), also used by the binary wire format. */
    public int onnxCode() {
        return onnxCode;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The lower-case name used in JSON and messages, e.g. {@code float}, {@code int64}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    OnnxJavaType ortType() {
        return ortType;
    }

    /** The type of an ONNX Runtime tensor type (whose Java enum numbers differ from ONNX's codes). */
    static Optional<ElementType> fromOrt(OnnxTensorType type) {
        for (ElementType t : values()) {
            if (OnnxTensorType.mapFromJavaType(t.ortType) == type) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** The type with this ONNX data type code, if this runtime serves it. */
    public static Optional<ElementType> fromOnnxCode(int code) {
        for (ElementType t : values()) {
            if (t.onnxCode == code) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** The type with this label ({@link #label()}), case-insensitive. */
    public static Optional<ElementType> fromLabel(String label) {
        for (ElementType t : values()) {
            if (t.label().equalsIgnoreCase(label)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return label();
    }
}
