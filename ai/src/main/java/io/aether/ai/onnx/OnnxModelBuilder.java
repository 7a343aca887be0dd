package io.aether.ai.onnx;

import io.aether.ai.Dim;
import io.aether.ai.ElementType;
import io.aether.ai.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Writes small ONNX models as protobuf bytes, with no ONNX library: a graph of nodes over named
 * inputs, initializers (weights) and outputs. Tests, demos and benchmarks use it, since no
 * model can be downloaded where they run.
 *
 * <p>Field numbers are those of onnx/onnx.proto: ModelProto (ir_version 1, producer_name 2,
 * graph 7, opset_import 8), OperatorSetIdProto (domain 1, version 2), GraphProto (node 1,
 * name 2, initializer 5, input 11, output 12), NodeProto (input 1, output 2, name 3,
 * op_type 4, attribute 5), AttributeProto (name 1, f 2, i 3, s 4, t 5, floats 7, ints 8,
 * type 20), TensorProto (dims 1, data_type 2, name 8, raw_data 9), ValueInfoProto (name 1,
 * type 2), TypeProto (tensor_type 1), TypeProto.Tensor (elem_type 1, shape 2),
 * TensorShapeProto (dim 1), Dimension (dim_value 1, dim_param 2).
 *
 * <pre>{@code
 * byte[] model = OnnxModelBuilder.create("linear")
 *     .input("X", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(3))
 *     .initializer("W", Tensor.ofFloats(new long[] {3, 2}, 1, 2, 3, 4, 5, 6))
 *     .node("MatMul", List.of("X", "W"), List.of("Y"))
 *     .output("Y", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(2))
 *     .build();
 * }</pre>
 */
public final class OnnxModelBuilder {

    /** An attribute of a node (AttributeProto); the type field is set from the variant. */
    public sealed interface Attribute {
        String name();

        record Int(String name, long value) implements Attribute {
        }

        record Float(String name, float value) implements Attribute {
        }

        record Str(String name, String value) implements Attribute {
        }

        record Ints(String name, long[] values) implements Attribute {
        }

        record Floats(String name, float[] values) implements Attribute {
        }

        record TensorValue(String name, Tensor value) implements Attribute {
        }

        static Attribute of(String name, long value) {
            return new Int(name, value);
        }

        static Attribute of(String name, float value) {
            return new Float(name, value);
        }

        static Attribute of(String name, String value) {
            return new Str(name, value);
        }
    }

    private record ValueInfo(String name, int elemType, List<Dim> shape) {
    }

    private record Node(String opType, List<String> inputs, List<String> outputs, List<Attribute> attributes) {
    }

    private static final long IR_VERSION = 8;
    private static final long OPSET = 17;

    private final String graphName;
    private final List<ValueInfo> inputs = new ArrayList<>();
    private final List<ValueInfo> outputs = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private final List<String> initializerNames = new ArrayList<>();
    private final List<Tensor> initializers = new ArrayList<>();

    private OnnxModelBuilder(String graphName) {
        this.graphName = graphName;
    }

    /** A builder for IR version 8 and default-domain opset 17 (ONNX Runtime 1.29 runs both). */
    public static OnnxModelBuilder create(String graphName) {
        return new OnnxModelBuilder(graphName);
    }

    public OnnxModelBuilder input(String name, ElementType type, Dim... shape) {
        return input(name, type.onnxCode(), shape);
    }

    /** An input of any ONNX element type code, including ones the runtime refuses (8 = string). */
    public OnnxModelBuilder input(String name, int onnxElemType, Dim... shape) {
        inputs.add(new ValueInfo(name, onnxElemType, List.of(shape)));
        return this;
    }

    public OnnxModelBuilder output(String name, ElementType type, Dim... shape) {
        return output(name, type.onnxCode(), shape);
    }

    /** An output of any ONNX element type code. */
    public OnnxModelBuilder output(String name, int onnxElemType, Dim... shape) {
        outputs.add(new ValueInfo(name, onnxElemType, List.of(shape)));
        return this;
    }

    public OnnxModelBuilder initializer(String name, Tensor value) {
        initializerNames.add(name);
        initializers.add(value);
        return this;
    }

    public OnnxModelBuilder node(String opType, List<String> inputs, List<String> outputs, Attribute... attributes) {
        nodes.add(new Node(opType, List.copyOf(inputs), List.copyOf(outputs), List.of(attributes)));
        return this;
    }

    public byte[] build() {
        ProtoWriter graph = new ProtoWriter();
        int n = 0;
        for (Node node : nodes) {
            ProtoWriter w = new ProtoWriter();
            node.inputs().forEach(i -> w.string(1, i));
            node.outputs().forEach(o -> w.string(2, o));
            w.string(3, node.opType().toLowerCase(Locale.ROOT) + "_" + n++);
            w.string(4, node.opType());
            for (Attribute a : node.attributes()) {
                w.message(5, attribute(a));
            }
            graph.message(1, w);
        }
        graph.string(2, graphName);
        for (int i = 0; i < initializers.size(); i++) {
            graph.message(5, tensor(initializerNames.get(i), initializers.get(i)));
        }
        inputs.forEach(v -> graph.message(11, valueInfo(v)));
        outputs.forEach(v -> graph.message(12, valueInfo(v)));

        ProtoWriter model = new ProtoWriter();
        model.varint(1, IR_VERSION);
        model.string(2, "aether");
        model.message(7, graph);
        model.message(8, new ProtoWriter().string(1, "").varint(2, OPSET));
        return model.toByteArray();
    }

    private static ProtoWriter tensor(String name, Tensor t) {
        ProtoWriter w = new ProtoWriter();
        for (long d : t.shape()) {
            w.varint(1, d);
        }
        w.varint(2, t.type().onnxCode());
        if (name != null) {
            w.string(8, name);
        }
        w.bytes(9, t.bytes()); // raw_data: little-endian, as ONNX requires
        return w;
    }

    private static ProtoWriter valueInfo(ValueInfo v) {
        ProtoWriter shape = new ProtoWriter();
        for (Dim d : v.shape()) {
            ProtoWriter dim = new ProtoWriter();
            switch (d) {
                case Dim.Fixed f -> dim.varint(1, f.size());
                case Dim.Symbolic s -> dim.string(2, s.name());
                case Dim.Dynamic x -> { } // neither field: an unknown size
            }
            shape.message(1, dim);
        }
        ProtoWriter tensorType = new ProtoWriter().varint(1, v.elemType()).message(2, shape);
        ProtoWriter type = new ProtoWriter().message(1, tensorType);
        return new ProtoWriter().string(1, v.name()).message(2, type);
    }

    /** AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7. */
    private static ProtoWriter attribute(Attribute a) {
        ProtoWriter w = new ProtoWriter().string(1, a.name());
        switch (a) {
            case Attribute.Float f -> w.fixed32Float(2, f.value()).varint(20, 1);
            case Attribute.Int i -> w.varint(3, i.value()).varint(20, 2);
            case Attribute.Str s -> w.string(4, s.value()).varint(20, 3);
            case Attribute.TensorValue t -> w.message(5, tensor(null, t.value())).varint(20, 4);
            case Attribute.Floats fs -> {
                for (float f : fs.values()) {
                    w.fixed32Float(7, f);
                }
                w.varint(20, 6);
            }
            case Attribute.Ints is -> {
                for (long i : is.values()) {
                    w.varint(8, i);
                }
                w.varint(20, 7);
            }
        }
        return w;
    }
}
