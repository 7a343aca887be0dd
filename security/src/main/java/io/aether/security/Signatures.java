package io.aether.security;

import java.security.AsymmetricKey;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.NamedParameterSpec;
import java.security.spec.X509EncodedKeySpec;

/**
 * Verification of ML-DSA-65 signatures, and nothing else: a key or signature of another ML-DSA
 * parameter set (ML-DSA-44 is weaker) is refused by name, never verified under its own rules.
 */
public final class Signatures {

    /** The one parameter set Aether signs and verifies with (FIPS 204). */
    private static final String ALGORITHM = KeyFiles.ALGORITHM;
    /** The length of every ML-DSA-65 signature (FIPS 204, table 2). */
    static final int SIGNATURE_BYTES = 3309;

    private Signatures() {
    }

    /** Whether {@code signature} is a valid ML-DSA-65 signature of {@code data} by the ML-DSA-65 key {@code key}. */
    public static boolean verify(PublicKey key, byte[] data, byte[] signature) {
        return problem(key, data, signature) == null;
    }

    /**
     * Why {@code signature} is not a valid ML-DSA-65 signature of {@code data} by {@code key}, or
     * null when it is: the key's parameter set, the signature's length, or "bad signature".
     */
    public static String problem(PublicKey key, byte[] data, byte[] signature) {
        PublicKey k;
        try {
            k = requireKey(key, "key");
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        if (signature.length != SIGNATURE_BYTES) {
            return "signature is " + signature.length + " bytes, not an " + ALGORITHM + " signature (" + SIGNATURE_BYTES + " bytes)";
        }
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initVerify(k);
            s.update(data);
            return s.verify(signature) ? null : "bad signature";
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return "bad signature (" + e.getMessage() + ")";
        }
    }

    /**
     * {@code key} as a JDK ML-DSA-65 key; refuses any other algorithm or parameter set, naming it
     * ({@code what} names the key in the message). Keys of other providers are decoded anew.
     */
    public static PublicKey requireKey(PublicKey key, String what) {
        String set = parameterSet(key);
        if (set == null) {
            // Another provider's key (BouncyCastle's, say): its encoding is read by the JDK, which is strict.
            try {
                return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(key.getEncoded()));
            } catch (GeneralSecurityException | RuntimeException e) {
                throw new IllegalArgumentException(what + ": not an " + ALGORITHM + " key (" + key.getAlgorithm() + ")");
            }
        }
        if (!set.equals(ALGORITHM)) {
            throw new IllegalArgumentException(what + ": an " + set + " key; only " + ALGORITHM + " keys are accepted");
        }
        return key;
    }

    private static String parameterSet(Key key) {
        return key instanceof AsymmetricKey a && a.getParams() instanceof NamedParameterSpec n ? n.getName() : null;
    }
}
