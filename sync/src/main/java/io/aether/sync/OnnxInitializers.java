package io.aether.sync;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Just enough of the protobuf wire format (protobuf.dev/programming-guides/encoding) to list an
 * ONNX model's initializers. ONNX's onnx.proto: {@code ModelProto.graph = 7};
 * {@code GraphProto.initializer = 5}; {@code TensorProto}: {@code dims = 1} (int64, packed or
 * not), {@code data_type = 2}, {@code float_data = 4}, {@code int32_data = 5},
 * {@code string_data = 6}, {@code int64_data = 7}, {@code name = 8}, {@code raw_data = 9},
 * {@code double_data = 10}, {@code uint64_data = 11}, {@code external_data = 13},
 * {@code data_location = 14}. The input is untrusted: every length is bounds-checked and a
 * malformed model is an {@link IllegalArgumentException} naming the offset.
 */
final class OnnxInitializers {

    /** One initializer: name, element type, shape, and a hash of its data fields. */
    record Tensor(String name, int dataType, List<Long> dims, String dataHash) {
        String describe() {
            return typeName(dataType) + dims + " sha256:" + dataHash.substring(0, 16);
        }
    }

    private static final int MAX_DEPTH_FIELDS = 1 << 24;

    private OnnxInitializers() {
    }

    /** The initializers of the model in {@code bytes}, by name, in file order. */
    static Map<String, Tensor> parse(byte[] bytes) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Reader model = new Reader(bytes, 0, bytes.length);
        int fields = 0;
        while (model.more()) {
            if (++fields > MAX_DEPTH_FIELDS) {
                throw new IllegalArgumentException("too many fields");
            }
            long key = model.varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 7 && wire == 2) {
                Reader graph = model.sub();
                while (graph.more()) {
                    long gk = graph.varint();
                    if ((gk >>> 3) == 5 && (gk & 7) == 2) {
                        Tensor t = tensor(graph.sub());
                        out.put(t.name(), t);
                    } else {
                        graph.skip((int) (gk & 7));
                    }
                }
            } else {
                model.skip(wire);
            }
        }
        return out;
    }

    private static Tensor tensor(Reader r) {
        String name = "";
        int dataType = 0;
        List<Long> dims = new ArrayList<>();
        MessageDigest md = ObjectId.sha256();
        while (r.more()) {
            long key = r.varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            switch (field) {
                case 1 -> {
                    if (wire == 2) {
                        Reader packed = r.sub();
                        while (packed.more()) {
                            dims.add(packed.varint());
                        }
                    } else if (wire == 0) {
                        dims.add(r.varint());
                    } else {
                        r.skip(wire);
                    }
                }
                case 2 -> {
                    if (wire == 0) {
                        dataType = (int) r.varint();
                    } else {
                        r.skip(wire);
                    }
                }
                case 8 -> {
                    if (wire == 2) {
                        Reader s = r.sub();
                        name = new String(s.buf, s.pos, s.end - s.pos, java.nio.charset.StandardCharsets.UTF_8);
                    } else {
                        r.skip(wire);
                    }
                }
                case 4, 5, 6, 7, 9, 10, 11, 13, 14 -> {
                    // Data in any encoding: hash the field number and its raw wire bytes.
                    int start = r.pos;
                    r.skip(wire);
                    md.update((byte) field);
                    md.update(r.buf, start, r.pos - start);
                }
                default -> r.skip(wire);
            }
        }
        return new Tensor(name, dataType, List.copyOf(dims), HexFormat.of().formatHex(md.digest()));
    }

    /** The names of TensorProto.DataType values. */
    static String typeName(int t) {
        return switch (t) {
            case 1 -> "float32";
            case 2 -> "uint8";
            case 3 -> "int8";
            case 4 -> "uint16";
            case 5 -> "int16";
            case 6 -> "int32";
            case 7 -> "int64";
            case 8 -> "string";
            case 9 -> "bool";
            case 10 -> "float16";
            case 11 -> "float64";
            case 12 -> "uint32";
            case 13 -> "uint64";
            case 14 -> "complex64";
            case 15 -> "complex128";
            case 16 -> "bfloat16";
            default -> "type" + t;
        };
    }

    /** A bounded cursor over a byte range. */
    private static final class Reader {
        final byte[] buf;
        int pos;
        final int end;

        Reader(byte[] buf, int pos, int end) {
            this.buf = buf;
            this.pos = pos;
            this.end = end;
        }

        boolean more() {
            return pos < end;
        }

        long varint() {
            long v = 0;
            for (int shift = 0; shift < 70; shift += 7) {
                if (pos >= end) {
                    throw new IllegalArgumentException("truncated varint at offset " + pos);
                }
                byte b = buf[pos++];
                v |= (long) (b & 0x7f) << shift;
                if (b >= 0) {
                    return v;
                }
            }
            throw new IllegalArgumentException("varint longer than 10 bytes at offset " + pos);
        }

        Reader sub() {
            long len = varint();
            if (len < 0 || len > end - pos) {
                throw new IllegalArgumentException("length " + len + " at offset " + pos + " runs past the end");
            }
            Reader r = new Reader(buf, pos, pos + (int) len);
            pos += (int) len;
            return r;
        }

        void skip(int wire) {
            switch (wire) {
                case 0 -> varint();
                case 1 -> advance(8);
                case 2 -> sub();
                case 5 -> advance(4);
                default -> throw new IllegalArgumentException("unsupported wire type " + wire + " at offset " + pos);
            }
        }

        private void advance(int n) {
            if (n > end - pos) {
                throw new IllegalArgumentException("truncated field at offset " + pos);
            }
            pos += n;
        }
    }
}
