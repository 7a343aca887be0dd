package io.aether.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Only ML-DSA-65 verifies. Keys and signatures of the other FIPS 204 parameter sets are made
 * here with the JDK's own generators, independently of {@link Identity}: a verifier that took
 * "ML-DSA" of any set would accept an ML-DSA-44 signature, which is weaker.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SignaturesTest {

    private static final String[] OTHER_SETS = {"ML-DSA-44", "ML-DSA-87"};
    private static final byte[] DATA = "aether-commit-v1\0body".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path tmp;

    private static KeyPair generate(String parameterSet) throws GeneralSecurityException {
        return KeyPairGenerator.getInstance(parameterSet).generateKeyPair();
    }

    private static byte[] sign(KeyPair kp, String parameterSet) throws GeneralSecurityException {
        return sign(kp, Signature.getInstance(parameterSet));
    }

    private static byte[] sign(KeyPair kp, Signature s) throws GeneralSecurityException {
        s.initSign(kp.getPrivate());
        s.update(DATA);
        return s.sign();
    }

    @Test
    void anMlDsa65SignatureMadeWithTheJdkVerifies() throws GeneralSecurityException {
        KeyPair kp = generate("ML-DSA-65");
        byte[] sig = sign(kp, "ML-DSA-65");
        assertEquals(3309, sig.length, "FIPS 204 table 2: ML-DSA-65 signatures are 3309 bytes");
        assertNull(Signatures.problem(kp.getPublic(), DATA, sig));
        assertTrue(Signatures.verify(kp.getPublic(), DATA, sig));
        assertSame(kp.getPublic(), Signatures.requireKey(kp.getPublic(), "k"));
        byte[] other = DATA.clone();
        other[0] ^= 1;
        assertEquals("bad signature", Signatures.problem(kp.getPublic(), other, sig));
    }

    @Test
    void keysAndSignaturesOfOtherParameterSetsAreRefusedByName() throws GeneralSecurityException {
        for (String parameterSet : OTHER_SETS) {
            refusedByName(parameterSet);
        }
    }

    private static void refusedByName(String parameterSet) throws GeneralSecurityException {
        KeyPair foreign = generate(parameterSet);
        byte[] foreignSig = sign(foreign, parameterSet);
        // Valid under its own parameter set: only strictness can refuse it.
        Signature own = Signature.getInstance(parameterSet);
        own.initVerify(foreign.getPublic());
        own.update(DATA);
        assertTrue(own.verify(foreignSig));

        assertFalse(Signatures.verify(foreign.getPublic(), DATA, foreignSig));
        assertEquals("key: an " + parameterSet + " key; only ML-DSA-65 keys are accepted",
                Signatures.problem(foreign.getPublic(), DATA, foreignSig));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Signatures.requireKey(foreign.getPublic(), "author key"));
        assertEquals("author key: an " + parameterSet + " key; only ML-DSA-65 keys are accepted", e.getMessage());

        // A signature of the other set's length under a genuine ML-DSA-65 key is refused for its length.
        KeyPair ours = generate("ML-DSA-65");
        assertEquals("signature is " + foreignSig.length + " bytes, not an ML-DSA-65 signature (3309 bytes)",
                Signatures.problem(ours.getPublic(), DATA, foreignSig));
    }

    @Test
    void trustStoresRefuseKeysOfOtherParameterSets() throws Exception {
        for (String parameterSet : OTHER_SETS) {
            refusedByTrustStores(parameterSet);
        }
    }

    private void refusedByTrustStores(String parameterSet) throws Exception {
        KeyPair foreign = generate(parameterSet);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrustStore.of(foreign.getPublic()));
        assertTrue(e.getMessage().contains("an " + parameterSet + " key; only ML-DSA-65"), e.getMessage());

        TrustStore onDisk = TrustStore.at(tmp.resolve("trusted-" + parameterSet));
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> onDisk.trust(foreign.getPublic()));
        assertTrue(e2.getMessage().contains(parameterSet), e2.getMessage());
        assertTrue(onDisk.keyIds().isEmpty());
        assertFalse(tmp.resolve("trusted-" + parameterSet).toFile().exists(), "nothing written for a refused key");

        // A PEM file holding such a key (a hand-copied .pub) is refused when read.
        Path pem = tmp.resolve(parameterSet + ".pub");
        KeyFiles.writePublic(pem, foreign.getPublic());
        IOException io = assertThrows(IOException.class, () -> KeyFiles.readPublic(pem));
        assertTrue(io.getMessage().contains("not an ML-DSA-65 public key") && io.getMessage().contains(parameterSet), io.getMessage());
    }

    @Test
    void keysOfOtherAlgorithmsAreRefused() throws GeneralSecurityException {
        KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Signatures.requireKey(ed.getPublic(), "k"));
        assertEquals("k: an Ed25519 key; only ML-DSA-65 keys are accepted", e.getMessage());
        assertFalse(Signatures.verify(ed.getPublic(), DATA, new byte[3309]));
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(1024);
        KeyPair r = rsa.generateKeyPair();
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> Signatures.requireKey(r.getPublic(), "k"));
        assertEquals("k: not an ML-DSA-65 key (RSA)", e2.getMessage());
    }

    @Test
    void anotherProvidersKeysAreJudgedByTheirEncoding() throws GeneralSecurityException {
        KeyPair bc65 = KeyPairGenerator.getInstance("ML-DSA-65", Tls.BC).generateKeyPair();
        byte[] sig = sign(bc65, Signature.getInstance("ML-DSA-65", Tls.BC));
        assertTrue(Signatures.verify(bc65.getPublic(), DATA, sig));
        KeyPair bc44 = KeyPairGenerator.getInstance("ML-DSA-44", Tls.BC).generateKeyPair();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Signatures.requireKey(bc44.getPublic(), "k"));
        assertTrue(e.getMessage().startsWith("k: not an ML-DSA-65 key"), e.getMessage());
        assertFalse(Signatures.verify(bc44.getPublic(), DATA, sign(bc44, Signature.getInstance("ML-DSA-44", Tls.BC))));
    }
}
