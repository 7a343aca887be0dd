package io.aether.security;

import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;

/** Verification of ML-DSA-65 signatures. */
public final class Signatures {

    private Signatures() {
    }

    /** Whether {@code signature} is a valid ML-DSA-65 signature of {@code data} by {@code key}. */
    public static boolean verify(PublicKey key, byte[] data, byte[] signature) {
        try {
            Signature s = Signature.getInstance(KeyFiles.ALGORITHM);
            s.initVerify(key);
            s.update(data);
            return s.verify(signature);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            // A malformed signature or a key of another parameter set is simply not valid.
            return false;
        }
    }
}
