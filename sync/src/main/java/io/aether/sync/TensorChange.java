package io.aether.sync;

/**
 * How one initializer (weight tensor) of an ONNX model differs.
 *
 * @param name   the tensor's name
 * @param kind   added, removed or changed
 * @param before its type, shape and data hash before ("" when added)
 * @param after  its type, shape and data hash after ("" when removed)
 */
public record TensorChange(String name, Kind kind, String before, String after) {

    /** How a tensor differs. */
    public enum Kind { ADDED, REMOVED, CHANGED }
}
