package io.aether.ai;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a request's tensors against a version's signature before anything runs, so that a
 * bad request is answered with a message naming the input instead of an ONNX Runtime error.
 */
final class InputValidator {

    private InputValidator() {
    }

    /**
     * @return the request's batch rows (first dimension, shared by all inputs) when the signature
     *         is batchable, else 1
     */
    static long validate(ModelSignature signature, Map<String, Tensor> inputs) throws InferenceException {
        for (String name : inputs.keySet()) {
            if (signature.input(name).isEmpty()) {
                throw InferenceException.invalidInput(name, "unknown input '" + name + "'; the model's inputs are: "
                        + signature.inputNames());
            }
        }
        Map<String, Long> bound = new HashMap<>(); // symbolic dimension -> size, first seen
        Map<String, String> boundBy = new HashMap<>();
        for (TensorSpec spec : signature.inputs()) {
            Tensor t = inputs.get(spec.name());
            if (t == null) {
                throw InferenceException.invalidInput(spec.name(), "missing input '" + spec.name() + "' (expected "
                        + spec.type().label() + spec.shapeText() + ")");
            }
            if (t.type() != spec.type()) {
                throw InferenceException.invalidInput(spec.name(), "input '" + spec.name() + "': expected element type "
                        + spec.type().label() + ", got " + t.type().label());
            }
            List<Dim> dims = spec.shape();
            checkShape(spec, t.shape());
            for (int i = 0; i < dims.size(); i++) {
                if (dims.get(i) instanceof Dim.Symbolic(String dimName)) {
                    Long earlier = bound.putIfAbsent(dimName, t.dim(i));
                    if (earlier == null) {
                        boundBy.put(dimName, spec.name());
                    } else if (earlier != t.dim(i)) {
                        throw InferenceException.invalidInput(spec.name(), "input '" + spec.name() + "': dimension '"
                                + dimName + "' is " + t.dim(i) + " here but " + earlier + " in input '"
                                + boundBy.get(dimName) + "'");
                    }
                }
            }
        }
        return signature.batchable() ? inputs.get(signature.inputs().getFirst().name()).dim(0) : 1;
    }

    /** Refuses a shape of another rank or with another size where the spec fixes one. */
    static void checkShape(TensorSpec spec, long[] shape) throws InferenceException {
        List<Dim> dims = spec.shape();
        boolean fits = shape.length == dims.size();
        for (int i = 0; fits && i < dims.size(); i++) {
            fits = dims.get(i).accepts(shape[i]);
        }
        if (!fits) {
            throw InferenceException.invalidInput(spec.name(), "input '" + spec.name() + "': expected shape "
                    + spec.shapeText() + ", got " + Tensor.shapeText(shape));
        }
    }
}
