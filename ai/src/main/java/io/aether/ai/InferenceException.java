package io.aether.ai;

import java.util.Optional;

/** A prediction failed; {@link #reason()} says whose fault it was. */
public final class InferenceException extends Exception {

    /** Why the prediction failed. */
    public enum Reason {
        /** The request's inputs do not fit the model's signature; the message names the input. */
        INVALID_INPUT,
        /** No model (or no loaded version) of that name. */
        UNKNOWN_MODEL,
        /** The version's queue is full: try again later. */
        OVERLOADED,
        /** ONNX Runtime failed to run the model on inputs that passed validation. */
        FAILED
    }

    private final Reason reason;
    private final String input;

    public InferenceException(Reason reason, String message) {
        this(reason, null, message, null);
    }

    public InferenceException(Reason reason, String message, Throwable cause) {
        this(reason, null, message, cause);
    }

    private InferenceException(Reason reason, String input, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
        this.input = input;
    }

    /** An {@link Reason#INVALID_INPUT} failure about the input called {@code input}. */
    public static InferenceException invalidInput(String input, String message) {
        return new InferenceException(Reason.INVALID_INPUT, input, message, null);
    }

    public Reason reason() {
        return reason;
    }

    /** The input the failure is about, when it is about one. */
    public Optional<String> input() {
        return Optional.ofNullable(input);
    }
}
