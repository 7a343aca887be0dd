package io.aether.ai;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The binary tensor format of the HTTP endpoint, media type {@value #MEDIA_TYPE}: named tensors
 * as raw little-endian data behind a small header, so that large inputs need no JSON parsing.
 * All integers are little-endian.
 *
 * <pre>
 * message := magic "AETN" (4 bytes) | version u8 = 1 | flags u8 = 0 | count u16 | tensor * count
 * tensor  := name_length u16 (1..1024) | name (UTF-8) | element_type u8 (ONNX TensorProto.DataType)
 *          | rank u8 (0..16) | dims i64 * rank (each >= 0) | data_length u64 | data
 * data    := the elements in row-major order, little-endian; data_length = product(dims) * element size
 * </pre>
 *
 * Element type codes: float 1, uint8 2, int8 3, int16 5, int32 6, int64 7, bool 9 (one byte, 0
 * or 1), float16 10, double 11, bfloat16 16. Names are unique and hold no control or formatting
 * characters; nothing may follow the last tensor.
 */
public final class TensorWireFormat {

    public static final String MEDIA_TYPE = "application/x-aether-tensors";
    static final int MAGIC = 0x4E544541; // "AETN" read little-endian
    static final int VERSION = 1;
    static final int MAX_NAME = 1024;
    static final int MAX_TENSORS = 4096;

    private TensorWireFormat() {
    }

    /** Encodes tensors in the map's iteration order. */
    public static byte[] encode(Map<String, Tensor> tensors) {
        if (tensors.size() > MAX_TENSORS) {
            throw new IllegalArgumentException("at most " + MAX_TENSORS + " tensors, got " + tensors.size());
        }
        long size = 8;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            size += 2 + e.getKey().getBytes(StandardCharsets.UTF_8).length + 2 + 8L * e.getValue().rank() + 8
                    + e.getValue().byteLength();
        }
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensors too large for one message: " + size + " bytes");
        }
        ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).put((byte) VERSION).put((byte) 0).putShort((short) tensors.size());
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
            if (name.length == 0 || name.length > MAX_NAME) {
                throw new IllegalArgumentException("tensor name must be 1.." + MAX_NAME + " bytes: '" + e.getKey() + "'");
            }
            Tensor t = e.getValue();
            b.putShort((short) name.length).put(name).put((byte) t.type().onnxCode()).put((byte) t.rank());
            for (long d : t.shape()) {
                b.putLong(d);
            }
            b.putLong(t.byteLength()).put(t.rawData());
        }
        return b.array();
    }

    /**
     * Decodes a message; every length and count is checked against the bytes present before
     * anything is allocated.
     *
     * @throws IllegalArgumentException naming the tensor and field at fault
     */
    public static Map<String, Tensor> decode(byte[] message) {
        ByteBuffer b = ByteBuffer.wrap(message).order(ByteOrder.LITTLE_ENDIAN);
        try {
            if (b.remaining() < 8 || b.getInt() != MAGIC) {
                throw new IllegalArgumentException("not an " + MEDIA_TYPE + " message (no AETN magic)");
            }
            int version = Byte.toUnsignedInt(b.get());
            if (version != VERSION) {
                throw new IllegalArgumentException("unsupported " + MEDIA_TYPE + " version " + version + " (this is 1)");
            }
            if (b.get() != 0) {
                throw new IllegalArgumentException("unknown flags in " + MEDIA_TYPE + " header");
            }
            int count = Short.toUnsignedInt(b.getShort());
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (int i = 0; i < count; i++) {
                int nameLength = Short.toUnsignedInt(b.getShort());
                if (nameLength == 0 || nameLength > MAX_NAME || nameLength > b.remaining()) {
                    throw new IllegalArgumentException("tensor " + i + ": bad name length " + nameLength);
                }
                byte[] nameBytes = new byte[nameLength];
                b.get(nameBytes);
                String name = utf8(nameBytes, i);
                int code = Byte.toUnsignedInt(b.get());
                ElementType type = ElementType.fromOnnxCode(code).orElseThrow(() -> new IllegalArgumentException(
                        "tensor '" + name + "': unsupported element type code " + code));
                int rank = Byte.toUnsignedInt(b.get());
                if (rank > Tensor.MAX_RANK) {
                    throw new IllegalArgumentException("tensor '" + name + "': rank " + rank + " is over "
                            + Tensor.MAX_RANK);
                }
                long[] shape = new long[rank];
                for (int d = 0; d < rank; d++) {
                    shape[d] = b.getLong();
                }
                long expected;
                try {
                    expected = Tensor.elementCount(type, shape) * type.byteSize();
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("tensor '" + name + "': " + e.getMessage());
                }
                long length = b.getLong();
                if (length != expected) {
                    throw new IllegalArgumentException("tensor '" + name + "': data length " + length + " does not match "
                            + type.label() + Tensor.shapeText(shape) + " (" + expected + " bytes)");
                }
                if (length > b.remaining()) {
                    throw new IllegalArgumentException("tensor '" + name + "': data length " + length + " but only "
                            + b.remaining() + " bytes follow");
                }
                byte[] data = new byte[(int) length];
                b.get(data);
                if (type == ElementType.BOOL) {
                    for (byte v : data) {
                        if (v != 0 && v != 1) {
                            throw new IllegalArgumentException("tensor '" + name + "': bool values must be 0 or 1");
                        }
                    }
                }
                if (out.put(name, Tensor.wrap(type, shape, data)) != null) {
                    throw new IllegalArgumentException("tensor '" + name + "' appears twice");
                }
            }
            if (b.hasRemaining()) {
                throw new IllegalArgumentException(b.remaining() + " bytes after the last tensor");
            }
            return out;
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException(MEDIA_TYPE + " message ends early");
        }
    }

    private static String utf8(byte[] bytes, int index) {
        String name;
        try {
            name = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("tensor " + index + ": name is not UTF-8");
        }
        // Names go into messages and logs: no line breaks, escapes or bidi overrides.
        if (name.codePoints().anyMatch(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT)) {
            throw new IllegalArgumentException("tensor " + index + ": name has a control or formatting character");
        }
        return name;
    }
}
