package io.aether.ai;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A model source for tests: refs point at versions named by the SHA-256 of their bytes. */
final class InMemorySource implements ModelSource {

    private final Map<String, String> refs = new ConcurrentHashMap<>();
    private final Map<String, byte[]> versions = new ConcurrentHashMap<>();

    /** Points {@code ref} at {@code model}; returns the version id. */
    String put(String ref, byte[] model) {
        String id = sha256(model);
        versions.put(id, model.clone());
        refs.put(ref, id);
        return id;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public String resolve(String ref) throws ModelSourceException {
        String id = refs.get(ref);
        if (id == null) {
            throw new ModelSourceException(ModelSourceException.Reason.UNKNOWN_REF, "unknown ref '" + ref + "'");
        }
        return id;
    }

    @Override
    public byte[] read(String version) throws ModelSourceException {
        byte[] b = versions.get(version);
        if (b == null) {
            throw new ModelSourceException(ModelSourceException.Reason.NO_MODEL, "no version " + version);
        }
        return b.clone();
    }

    @Override
    public String describe() {
        return "in-memory test source";
    }
}
