package io.aether.ai;

/**
 * Where a served model's versions come from: a model repository (see {@code RepositoryModelSource})
 * or anything else that names immutable versions. The runtime resolves a ref once per deploy,
 * switch or canary, and reads the bytes of a version only when that version is not loaded yet.
 */
public interface ModelSource {

    /**
     * Resolves a ref (a branch, a tag, a commit id or a unique prefix of one) to the immutable
     * id of the version it names now.
     *
     * @throws ModelSourceException with {@link ModelSourceException.Reason#UNKNOWN_REF} if nothing
     *         has that name, or another reason if the source cannot be read
     */
    String resolve(String ref) throws ModelSourceException;

    /**
     * The ONNX model bytes of a version returned by {@link #resolve}, verified by the source.
     *
     * @throws ModelSourceException if the version has no model or its bytes cannot be read or verified
     */
    byte[] read(String version) throws ModelSourceException;

    /** A short description for messages and metadata, e.g. {@code /srv/models/resnet (model.onnx)}. */
    String describe();
}
