package io.aether.ai;

import java.util.Map;

/**
 * Turns a request's inputs into tensors once the version that will answer it is chosen, so
 * that untyped inputs (JSON numbers) take the element types of that version's signature, and
 * so that a request for no such model or version is refused before its body is read.
 */
@FunctionalInterface
public interface InputBinder {

    Map<String, Tensor> bind(ModelSignature signature) throws InferenceException;

    /** Inputs that are already tensors. */
    static InputBinder of(Map<String, Tensor> tensors) {
        Map<String, Tensor> copy = Map.copyOf(tensors);
        return signature -> copy;
    }
}
