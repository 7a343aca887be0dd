package io.aether.ai;

import java.util.List;
import java.util.stream.Collectors;

/** A model input or output as the model declares it: name, element type, shape. */
public record TensorSpec(String name, ElementType type, List<Dim> shape) {

    public TensorSpec {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("tensor spec needs a name");
        }
        if (type == null) {
            throw new IllegalArgumentException("tensor spec '" + name + "' needs an element type");
        }
        shape = List.copyOf(shape);
    }

    public int rank() {
        return shape.size();
    }

    /** The shape as text, e.g. {@code [N,3]}; {@code ?} marks an unnamed dynamic dimension. */
    public String shapeText() {
        return shape.stream().map(Dim::toString).collect(Collectors.joining(",", "[", "]"));
    }

    @Override
    public String toString() {
        return name + ": " + type.label() + shapeText();
    }
}
