package io.aether.ai;

/**
 * One dimension of a model input's or output's declared shape: a fixed size, a named symbolic
 * size ({@code dim_param} in ONNX, e.g. {@code N} or {@code batch}), or an unnamed dynamic size.
 */
public sealed interface Dim {

    /** A dimension whose size is fixed by the model. */
    record Fixed(long size) implements Dim {
        public Fixed {
            if (size < 0) {
                throw new IllegalArgumentException("dimension size must be >= 0, got " + size);
            }
        }

        @Override
        public String toString() {
            return Long.toString(size);
        }
    }

    /** A dimension named by the model whose size is chosen per request; equal names mean equal sizes. */
    record Symbolic(String name) implements Dim {
        public Symbolic {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("symbolic dimension needs a name");
            }
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A dimension whose size is chosen per request, without a name. */
    record Dynamic() implements Dim {
        @Override
        public String toString() {
            return "?";
        }
    }

    static Dim of(long size) {
        return new Fixed(size);
    }

    static Dim symbolic(String name) {
        return new Symbolic(name);
    }

    static Dim dynamic() {
        return new Dynamic();
    }

    /** Whether a request may use {@code size} for this dimension. */
    default boolean accepts(long size) {
        return switch (this) {
            case Fixed f -> f.size() == size;
            case Symbolic s -> size >= 0;
            case Dynamic d -> size >= 0;
        };
    }
}
