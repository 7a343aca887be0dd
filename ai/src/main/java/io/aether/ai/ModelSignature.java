package io.aether.ai;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/** A model's inputs and outputs as read from the loaded model. */
public record ModelSignature(List<TensorSpec> inputs, List<TensorSpec> outputs) {

    public ModelSignature {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("a model needs at least one input");
        }
        if (outputs.isEmpty()) {
            throw new IllegalArgumentException("a model needs at least one output");
        }
    }

    public Optional<TensorSpec> input(String name) {
        return inputs.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    public String inputNames() {
        return inputs.stream().map(TensorSpec::name).collect(Collectors.joining(", "));
    }

    /**
     * Whether requests can be merged along the first dimension. The inputs must say they share
     * it: every input's first dimension is symbolic with one common name (or the model has a
     * single input whose first dimension is dynamic), and every output's first dimension is not
     * fixed. The runner still checks after each merged run that every output's first dimension
     * equals the rows it merged, and stops merging for that version if not.
     */
    public boolean batchable() {
        Set<String> names = new HashSet<>();
        for (TensorSpec s : inputs) {
            if (s.rank() == 0) {
                return false;
            }
            switch (s.shape().getFirst()) {
                case Dim.Fixed f -> {
                    return false;
                }
                case Dim.Symbolic sym -> names.add(sym.name());
                case Dim.Dynamic d -> {
                    if (inputs.size() > 1) {
                        return false;
                    }
                }
            }
        }
        if (names.size() > 1) {
            return false;
        }
        for (TensorSpec s : outputs) {
            if (s.rank() == 0 || s.shape().getFirst() instanceof Dim.Fixed) {
                return false;
            }
        }
        return true;
    }
}
