package io.aether.sync;

import java.util.List;

/**
 * How one file differs between two versions.
 *
 * @param path        the file
 * @param kind        added, deleted or modified
 * @param oldSize     size before (0 when added)
 * @param newSize     size after (0 when deleted)
 * @param sharedBytes bytes of the new version in chunks the old version also has (what a sync
 *                    does not need to move)
 * @param tensors     for ONNX models: which initializer tensors changed (empty otherwise)
 * @param note        why tensors are not listed for an .onnx file, or null
 */
public record FileChange(String path, Status.Kind kind, long oldSize, long newSize, long sharedBytes,
                         List<TensorChange> tensors, String note) {

    public FileChange {
        tensors = List.copyOf(tensors);
    }
}
