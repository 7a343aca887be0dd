package io.aether.ai;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
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
 *
 * <p>Entry points: {@link #decode(byte[])} and {@link #encode(Map)} over whole messages;
 * the server decodes from the request stream with a budget ({@code decode(InputStream, long, Lease)})
 * and encodes straight to the response ({@link #encode(Map, OutputStream)}).
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
        long size = encodedLength(tensors);
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensors too large for one message: " + size + " bytes");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) size);
        try {
            encode(tensors, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array cannot fail to write
        }
        return out.toByteArray();
    }

    /** The length of the message {@link #encode(Map, OutputStream)} writes. */
    public static long encodedLength(Map<String, Tensor> tensors) {
        if (tensors.size() > MAX_TENSORS) {
            throw new IllegalArgumentException("at most " + MAX_TENSORS + " tensors, got " + tensors.size());
        }
        long size = 8;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            size += 2 + nameBytes(e.getKey()).length + 2 + 8L * e.getValue().rank() + 8 + e.getValue().byteLength();
        }
        return size;
    }

    /** Writes the message of tensors in the map's iteration order, each tensor's data straight from it. */
    public static void encode(Map<String, Tensor> tensors, OutputStream out) throws IOException {
        encodedLength(tensors); // checks count and names before anything is written
        ByteBuffer header = ByteBuffer.allocate(8 + 2 + MAX_NAME + 2 + 8 * Tensor.MAX_RANK + 8).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(MAGIC).put((byte) VERSION).put((byte) 0).putShort((short) tensors.size());
        out.write(header.array(), 0, header.position());
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            byte[] name = nameBytes(e.getKey());
            Tensor t = e.getValue();
            header.clear();
            header.putShort((short) name.length).put(name).put((byte) t.type().onnxCode()).put((byte) t.rank());
            for (long d : t.shape()) {
                header.putLong(d);
            }
            header.putLong(t.byteLength());
            out.write(header.array(), 0, header.position());
            out.write(t.rawData());
        }
    }

    private static byte[] nameBytes(String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > MAX_NAME) {
            throw new IllegalArgumentException("tensor name must be 1.." + MAX_NAME + " bytes: '" + name + "'");
        }
        return bytes;
    }

    /**
     * Decodes a message held in memory, with no budget: the entry point for clients, tests and fuzzing.
     *
     * @throws IllegalArgumentException naming the tensor and field at fault
     */
    public static Map<String, Tensor> decode(byte[] message) {
        try (ByteBudget.Lease lease = ByteBudget.UNLIMITED.lease()) {
            return decode(new ByteArrayInputStream(message), message.length, lease);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array cannot fail to read
        }
    }

    /**
     * Decodes a message of at most {@code maxBytes} bytes read from {@code in}. Every length and
     * count is checked against its shape and against the bytes that can still follow, and a
     * tensor's bytes are taken from {@code lease}, before its buffer is allocated. On success
     * the lease holds exactly the bytes of the tensors returned.
     *
     * @throws IllegalArgumentException naming the tensor and field at fault
     * @throws IOException when the message cannot be read
     * @throws ByteBudget.Refused when the budget has no room for a tensor
     */
    static Map<String, Tensor> decode(InputStream in, long maxBytes, ByteBudget.Lease lease) throws IOException {
        Reader r = new Reader(in, maxBytes);
        if (maxBytes < 8 || r.i32() != MAGIC) {
            throw new IllegalArgumentException("not an " + MEDIA_TYPE + " message (no AETN magic)");
        }
        int version = r.u8();
        if (version != VERSION) {
            throw new IllegalArgumentException("unsupported " + MEDIA_TYPE + " version " + version + " (this is 1)");
        }
        if (r.u8() != 0) {
            throw new IllegalArgumentException("unknown flags in " + MEDIA_TYPE + " header");
        }
        int count = r.u16();
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            int nameLength = r.u16();
            if (nameLength == 0 || nameLength > MAX_NAME || nameLength > r.left()) {
                throw new IllegalArgumentException("tensor " + i + ": bad name length " + nameLength);
            }
            String name = utf8(r.bytes(nameLength), i);
            int code = r.u8();
            ElementType type = ElementType.fromOnnxCode(code).orElseThrow(() -> new IllegalArgumentException(
                    "tensor '" + name + "': unsupported element type code " + code));
            int rank = r.u8();
            if (rank > Tensor.MAX_RANK) {
                throw new IllegalArgumentException("tensor '" + name + "': rank " + rank + " is over "
                        + Tensor.MAX_RANK);
            }
            long[] shape = new long[rank];
            for (int d = 0; d < rank; d++) {
                shape[d] = r.i64();
            }
            long expected;
            try {
                expected = Tensor.elementCount(type, shape) * type.byteSize();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("tensor '" + name + "': " + e.getMessage());
            }
            long length = r.i64();
            if (length != expected) {
                throw new IllegalArgumentException("tensor '" + name + "': data length " + length + " does not match "
                        + type.label() + Tensor.shapeText(shape) + " (" + expected + " bytes)");
            }
            if (length > r.left()) {
                throw new IllegalArgumentException("tensor '" + name + "': data length " + length + " but only "
                        + r.left() + " bytes follow");
            }
            if (out.containsKey(name)) {
                throw new IllegalArgumentException("tensor '" + name + "' appears twice");
            }
            lease.take(length);
            byte[] data = r.bytes((int) length);
            if (type == ElementType.BOOL) {
                for (byte v : data) {
                    if (v != 0 && v != 1) {
                        throw new IllegalArgumentException("tensor '" + name + "': bool values must be 0 or 1");
                    }
                }
            }
            out.put(name, Tensor.wrap(type, shape, data));
        }
        long trailing = in.transferTo(OutputStream.nullOutputStream());
        if (trailing > 0) {
            throw new IllegalArgumentException(trailing + " bytes after the last tensor");
        }
        lease.settle();
        return out;
    }

    /** Little-endian fields from a stream of at most a known length; a short stream ends the message early. */
    private static final class Reader {
        private final InputStream in;
        private final long max;
        private final ByteBuffer field = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        private long read;

        Reader(InputStream in, long max) {
            this.in = in;
            this.max = max;
        }

        /** Bytes that may still follow. */
        long left() {
            return max - read;
        }

        byte[] bytes(int n) throws IOException {
            byte[] b = new byte[n];
            int got = in.readNBytes(b, 0, n);
            read += got;
            if (got < n) {
                throw new IllegalArgumentException(MEDIA_TYPE + " message ends early");
            }
            return b;
        }

        private ByteBuffer field(int n) throws IOException {
            field.clear();
            field.put(bytes(n)).flip();
            return field;
        }

        int u8() throws IOException {
            return Byte.toUnsignedInt(field(1).get());
        }

        int u16() throws IOException {
            return Short.toUnsignedInt(field(2).getShort());
        }

        int i32() throws IOException {
            return field(4).getInt();
        }

        long i64() throws IOException {
            return field(8).getLong();
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
