package io.aether.ai;

import io.aether.security.TrustStore;
import io.aether.sync.FileEntry;
import io.aether.sync.ObjectId;
import io.aether.sync.RefNotFoundException;
import io.aether.sync.Repository;
import io.aether.sync.RepositoryException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A {@link ModelSource} over a model repository (module sync): a version is a commit id, and
 * its model is one {@code .onnx} file of that commit. Every commit is read through the
 * repository's verification (hash, ML-DSA-65 signature, trusted author) and every chunk of the
 * model is checked against its id, so the runtime only ever loads bytes an accepted author signed.
 */
public final class RepositoryModelSource implements ModelSource {

    private final Repository repository;
    private final String modelPath;

    private RepositoryModelSource(Repository repository, String modelPath) {
        this.repository = repository;
        this.modelPath = modelPath;
    }

    /**
     * A source over an open repository.
     *
     * @param modelPath the model's path in each commit, or null for "the only {@code .onnx} file
     *                  of the commit" (a commit with none or several is refused, naming them)
     */
    public static RepositoryModelSource of(Repository repository, String modelPath) {
        return new RepositoryModelSource(repository, modelPath);
    }

    /** Opens the repository in {@code dir}, verifying commits against {@code trust}. */
    public static RepositoryModelSource open(Path dir, TrustStore trust, String modelPath) throws ModelSourceException {
        try {
            return of(Repository.open(dir, trust), modelPath);
        } catch (RepositoryException | IOException e) {
            throw new ModelSourceException(ModelSourceException.Reason.UNREADABLE, e.getMessage(), e);
        }
    }

    @Override
    public String resolve(String ref) throws ModelSourceException {
        try {
            ObjectId id = repository.resolve(ref);
            repository.commit(id); // verified here, so a bad signature is refused before any load
            return id.hex();
        } catch (RefNotFoundException e) {
            throw new ModelSourceException(ModelSourceException.Reason.UNKNOWN_REF, e.getMessage(), e);
        } catch (RepositoryException | IOException e) {
            throw new ModelSourceException(ModelSourceException.Reason.UNREADABLE, e.getMessage(), e);
        }
    }

    @Override
    public byte[] read(String version) throws ModelSourceException {
        ObjectId id = commitId(version);
        String path = modelPath(version);
        try {
            return repository.readFile(id, path);
        } catch (RepositoryException | IOException e) {
            throw new ModelSourceException(ModelSourceException.Reason.UNREADABLE, e.getMessage(), e);
        }
    }

    /** The path of the model in a version: the configured one, or the commit's only {@code .onnx} file. */
    public String modelPath(String version) throws ModelSourceException {
        ObjectId id = commitId(version);
        List<FileEntry> files;
        try {
            files = repository.files(id);
        } catch (RepositoryException | IOException e) {
            throw new ModelSourceException(ModelSourceException.Reason.UNREADABLE, e.getMessage(), e);
        }
        if (modelPath != null) {
            if (files.stream().noneMatch(f -> f.path().equals(modelPath))) {
                throw new ModelSourceException(ModelSourceException.Reason.NO_MODEL, "commit " + id.shortHex()
                        + " has no file '" + modelPath + "'" + onnxFiles(files));
            }
            return modelPath;
        }
        List<String> onnx = files.stream().map(FileEntry::path)
                .filter(p -> p.toLowerCase(Locale.ROOT).endsWith(".onnx")).toList();
        if (onnx.size() != 1) {
            throw new ModelSourceException(ModelSourceException.Reason.NO_MODEL, "commit " + id.shortHex() + " has "
                    + (onnx.isEmpty() ? "no .onnx file" : onnx.size() + " .onnx files (" + String.join(", ", onnx)
                    + "); choose one with --model"));
        }
        return onnx.getFirst();
    }

    private static String onnxFiles(List<FileEntry> files) {
        List<String> onnx = files.stream().map(FileEntry::path).filter(p -> p.endsWith(".onnx")).toList();
        return onnx.isEmpty() ? "" : " (its .onnx files: " + String.join(", ", onnx) + ")";
    }

    private static ObjectId commitId(String version) throws ModelSourceException {
        try {
            return ObjectId.parse(version);
        } catch (IllegalArgumentException e) {
            throw new ModelSourceException(ModelSourceException.Reason.UNKNOWN_REF, "not a commit id: '" + version + "'");
        }
    }

    @Override
    public String describe() {
        Path where = repository.isBare() ? repository.storeDir() : repository.workDir();
        return where + (modelPath == null ? " (its .onnx file)" : " (" + modelPath + ")");
    }

    /**
     * A model name for a path in a repository: its file name without {@code .onnx}, with
     * characters a model name cannot hold replaced by '-' (e.g. {@code nets/Res Net.onnx} gives
     * {@code Res-Net}).
     */
    public static String modelNameFor(String path) {
        String file = path.substring(path.lastIndexOf('/') + 1);
        if (file.toLowerCase(Locale.ROOT).endsWith(".onnx")) {
            file = file.substring(0, file.length() - 5);
        }
        String name = file.replaceAll("[^A-Za-z0-9._-]", "-").replaceAll("^[^A-Za-z0-9]+", "");
        if (name.length() > 128) {
            name = name.substring(0, 128);
        }
        return name.isEmpty() ? "model" : name;
    }
}
