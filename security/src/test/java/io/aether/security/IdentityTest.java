package io.aether.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdentityTest {

    private static final Identity ALICE = Identity.generate();
    private static final Identity BOB = Identity.generate();

    @TempDir
    Path tmp;

    @Test
    void signatureVerifiesOnlyForTheSignedBytesAndKey() {
        byte[] data = "commit body".getBytes(StandardCharsets.UTF_8);
        byte[] sig = ALICE.sign(data);
        assertEquals(3309, sig.length, "ML-DSA-65 signature size (FIPS 204)");
        assertTrue(Signatures.verify(ALICE.publicKey(), data, sig));
        byte[] tampered = data.clone();
        tampered[0] ^= 1;
        assertFalse(Signatures.verify(ALICE.publicKey(), tampered, sig));
        assertFalse(Signatures.verify(BOB.publicKey(), data, sig));
        byte[] badSig = sig.clone();
        badSig[100] ^= 0x40;
        assertFalse(Signatures.verify(ALICE.publicKey(), data, badSig));
        assertFalse(Signatures.verify(ALICE.publicKey(), data, new byte[7]), "malformed signature is just invalid");
    }

    @Test
    void keyIdIsSha256OfTheX509Encoding() throws Exception {
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(ALICE.publicKey().getEncoded()));
        assertEquals(expected, ALICE.keyId().hex());
        assertEquals(ALICE.keyId(), KeyId.ofBytes(ALICE.keyId().bytes()));
        assertThrows(IllegalArgumentException.class, () -> new KeyId("ABC"));
    }

    @Test
    void savedKeysLoadBackAndThePrivateFileIsOwnerOnly() throws IOException {
        Path priv = tmp.resolve("k/id.key");
        Path pub = tmp.resolve("k/id.pub");
        ALICE.save(priv, pub);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(priv)));
        assertTrue(Files.readString(priv).startsWith("-----BEGIN PRIVATE KEY-----"));
        assertTrue(Files.readString(pub).startsWith("-----BEGIN PUBLIC KEY-----"));
        Identity back = Identity.load(priv, pub);
        assertEquals(ALICE.keyId(), back.keyId());
        byte[] data = {1, 2, 3};
        assertTrue(Signatures.verify(ALICE.publicKey(), data, back.sign(data)));
        try (var s = Files.list(priv.getParent())) {
            assertEquals(2, s.count(), "no temporary files left behind");
        }
    }

    @Test
    void neverOverwritesAPrivateKey() throws IOException {
        Path priv = tmp.resolve("id.key");
        ALICE.save(priv, tmp.resolve("id.pub"));
        String before = Files.readString(priv);
        assertThrows(FileAlreadyExistsException.class, () -> BOB.save(priv, tmp.resolve("other.pub")));
        assertEquals(before, Files.readString(priv));
    }

    @Test
    void refusesAPrivateKeyFileOthersCanRead() throws IOException {
        Path priv = tmp.resolve("id.key");
        ALICE.save(priv, tmp.resolve("id.pub"));
        Files.setPosixFilePermissions(priv, PosixFilePermissions.fromString("rw-r--r--"));
        IOException e = assertThrows(IOException.class, () -> KeyFiles.readPrivate(priv));
        assertTrue(e.getMessage().contains("readable by others"), e.getMessage());
    }

    @Test
    void refusesMismatchedHalves() throws IOException {
        ALICE.save(tmp.resolve("a.key"), tmp.resolve("a.pub"));
        BOB.save(tmp.resolve("b.key"), tmp.resolve("b.pub"));
        IOException e = assertThrows(IOException.class, () -> Identity.load(tmp.resolve("a.key"), tmp.resolve("b.pub")));
        assertTrue(e.getMessage().contains("not the public half"), e.getMessage());
    }

    @Test
    void refusesOtherParameterSetsAndGarbage() throws Exception {
        var mldsa44 = KeyPairGenerator.getInstance("ML-DSA-44").generateKeyPair().getPublic();
        Path f = tmp.resolve("44.pub");
        Files.write(f, Pem.encode("PUBLIC KEY", mldsa44.getEncoded()));
        IOException e = assertThrows(IOException.class, () -> KeyFiles.readPublic(f));
        assertTrue(e.getMessage().contains("not an ML-DSA-65 public key"), e.getMessage());
        Path g = tmp.resolve("junk.pub");
        Files.writeString(g, "hello");
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> KeyFiles.readPublic(g));
        assertTrue(e2.getMessage().contains("junk.pub"), e2.getMessage());
    }

    @Test
    void loadFromHomeWithoutKeySaysHowToCreateOne() {
        IOException e = assertThrows(IOException.class, () -> Identity.load(new AetherHome(tmp)));
        assertTrue(e.getMessage().contains("aether model keygen"), e.getMessage());
    }

    @Test
    void pemRoundTrip() {
        byte[] der = new byte[300];
        for (int i = 0; i < der.length; i++) {
            der[i] = (byte) (i * 7);
        }
        assertArrayEquals(der, Pem.decode("X", Pem.encode("X", der), "t"));
    }
}
