package io.aether.ai;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * An immutable dense tensor: element type, shape, and the elements in row-major order as
 * little-endian bytes (the layout of ONNX {@code raw_data} and of the binary wire format).
 */
public final class Tensor {

    /** Highest rank accepted (ONNX Runtime's own limit is far higher; real models stay well below). */
    public static final int MAX_RANK = 16;

    private final ElementType type;
    private final long[] shape;
    private final byte[] data;

    private Tensor(ElementType type, long[] shape, byte[] data) {
        this.type = type;
        this.shape = shape;
        this.data = data;
    }

    /**
     * A tensor over a copy of {@code littleEndianData}.
     *
     * @throws IllegalArgumentException if the shape is invalid or the data length does not match it
     */
    public static Tensor of(ElementType type, long[] shape, byte[] littleEndianData) {
        return wrap(type, shape.clone(), littleEndianData.clone());
    }

    /** Takes ownership of the arrays (callers inside this package only hand over fresh arrays). */
    static Tensor wrap(ElementType type, long[] shape, byte[] data) {
        if (type == null) {
            throw new IllegalArgumentException("tensor needs an element type");
        }
        long bytes = byteLength(type, shape);
        if (bytes != data.length) {
            throw new IllegalArgumentException("shape " + shapeText(shape) + " of " + type.label()
                    + " needs " + bytes + " bytes, got " + data.length);
        }
        return new Tensor(type, shape, data);
    }

    /** Elements of a shape; rejects negative dimensions, too high a rank, and sizes over 2 GiB of data. */
    public static long elementCount(ElementType type, long[] shape) {
        return byteLength(type, shape) / type.byteSize();
    }

    private static long byteLength(ElementType type, long[] shape) {
        if (shape.length > MAX_RANK) {
            throw new IllegalArgumentException("rank " + shape.length + " is over the limit of " + MAX_RANK);
        }
        long bytes = type.byteSize();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + shapeText(shape));
            }
            if (d != 0 && bytes > (Integer.MAX_VALUE - 8) / d) {
                throw new IllegalArgumentException("shape " + shapeText(shape) + " of " + type.label()
                        + " is larger than 2 GiB");
            }
            bytes *= d;
        }
        return bytes;
    }

    public static Tensor ofFloats(long[] shape, float... values) {
        ByteBuffer b = allocate(ElementType.FLOAT, shape, values.length);
        b.asFloatBuffer().put(values);
        return wrap(ElementType.FLOAT, shape.clone(), b.array());
    }

    public static Tensor ofDoubles(long[] shape, double... values) {
        ByteBuffer b = allocate(ElementType.DOUBLE, shape, values.length);
        b.asDoubleBuffer().put(values);
        return wrap(ElementType.DOUBLE, shape.clone(), b.array());
    }

    public static Tensor ofInts(long[] shape, int... values) {
        ByteBuffer b = allocate(ElementType.INT32, shape, values.length);
        b.asIntBuffer().put(values);
        return wrap(ElementType.INT32, shape.clone(), b.array());
    }

    public static Tensor ofLongs(long[] shape, long... values) {
        ByteBuffer b = allocate(ElementType.INT64, shape, values.length);
        b.asLongBuffer().put(values);
        return wrap(ElementType.INT64, shape.clone(), b.array());
    }

    public static Tensor ofBooleans(long[] shape, boolean... values) {
        byte[] data = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            data[i] = (byte) (values[i] ? 1 : 0);
        }
        return wrap(ElementType.BOOL, shape.clone(), data);
    }

    /** A tensor of zeros (false for bool). */
    public static Tensor zeros(ElementType type, long[] shape) {
        return wrap(type, shape.clone(), new byte[(int) byteLength(type, shape)]);
    }

    private static ByteBuffer allocate(ElementType type, long[] shape, int count) {
        long need = elementCount(type, shape);
        if (need != count) {
            throw new IllegalArgumentException("shape " + shapeText(shape) + " needs " + need
                    + " values, got " + count);
        }
        return ByteBuffer.allocate(count * type.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    }

    public ElementType type() {
        return type;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int axis) {
        return shape[axis];
    }

    public long elementCount() {
        return data.length / type.byteSize();
    }

    public int byteLength() {
        return data.length;
    }

    /** A copy of the little-endian element bytes. */
    public byte[] bytes() {
        return data.clone();
    }

    /** A read-only little-endian view of the element bytes. */
    public ByteBuffer buffer() {
        return ByteBuffer.wrap(data).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The backing array, for this package's codecs and runners, which never write to it. */
    byte[] rawData() {
        return data;
    }

    /** Shape and element type as text, e.g. {@code float[2,3]}. */
    public String describe() {
        return type.label() + shapeText(shape);
    }

    /** The elements as floats; only for {@link ElementType#FLOAT} tensors. */
    public float[] toFloats() {
        requireType(ElementType.FLOAT);
        float[] out = new float[(int) elementCount()];
        buffer().asFloatBuffer().get(out);
        return out;
    }

    /** The elements as doubles; only for {@link ElementType#DOUBLE} tensors. */
    public double[] toDoubles() {
        requireType(ElementType.DOUBLE);
        double[] out = new double[(int) elementCount()];
        buffer().asDoubleBuffer().get(out);
        return out;
    }

    /** The elements as longs; only for {@link ElementType#INT64} tensors. */
    public long[] toLongs() {
        requireType(ElementType.INT64);
        long[] out = new long[(int) elementCount()];
        buffer().asLongBuffer().get(out);
        return out;
    }

    /** The elements as ints; only for {@link ElementType#INT32} tensors. */
    public int[] toInts() {
        requireType(ElementType.INT32);
        int[] out = new int[(int) elementCount()];
        buffer().asIntBuffer().get(out);
        return out;
    }

    private void requireType(ElementType wanted) {
        if (type != wanted) {
            throw new IllegalStateException("tensor is " + type.label() + ", not " + wanted.label());
        }
    }

    static String shapeText(long[] shape) {
        return Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(",", "[", "]"));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && t.type == type && Arrays.equals(t.shape, shape) && Arrays.equals(t.data, data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * type.hashCode() + Arrays.hashCode(shape)) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Tensor[" + describe() + "]";
    }
}
