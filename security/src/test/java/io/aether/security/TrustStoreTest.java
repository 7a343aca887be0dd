package io.aether.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrustStoreTest {

    @TempDir
    Path tmp;

    @Test
    void trustedKeysPersistAndUnknownKeysAreRefusedByKeyId() throws IOException {
        Identity alice = Identity.generate();
        Identity mallory = Identity.generate();
        TrustStore ts = TrustStore.at(tmp.resolve("trusted"));
        assertEquals(alice.keyId(), ts.trust(alice.publicKey()));
        assertTrue(Files.exists(tmp.resolve("trusted").resolve(alice.keyId().hex() + ".pub")));

        TrustStore reopened = TrustStore.at(tmp.resolve("trusted"));
        assertEquals(List.of(alice.keyId()), reopened.keyIds());
        assertEquals(alice.publicKey(), reopened.require(alice.keyId(), "test"));

        UntrustedKeyException e = assertThrows(UntrustedKeyException.class, () -> reopened.require(mallory.keyId(), "commit 1234"));
        assertEquals(mallory.keyId(), e.keyId());
        assertTrue(e.getMessage().contains(mallory.keyId().hex()), e.getMessage());
        assertTrue(e.getMessage().contains("commit 1234"), e.getMessage());
    }

    @Test
    void aRenamedKeyFileIsRefused() throws IOException {
        Identity alice = Identity.generate();
        Path dir = tmp.resolve("trusted");
        KeyFiles.writePublic(dir.resolve("0".repeat(64) + ".pub"), alice.publicKey());
        IOException e = assertThrows(IOException.class, () -> TrustStore.at(dir));
        assertTrue(e.getMessage().contains("does not match the key id"), e.getMessage());
    }

    @Test
    void homeResolutionPrefersTheSystemProperty() {
        String old = System.getProperty(AetherHome.PROPERTY);
        try {
            System.setProperty(AetherHome.PROPERTY, tmp.toString());
            AetherHome h = AetherHome.resolve();
            assertEquals(tmp.toAbsolutePath(), h.dir());
            assertEquals(tmp.resolve("trusted").toAbsolutePath(), h.trustDir());
        } finally {
            if (old == null) {
                System.clearProperty(AetherHome.PROPERTY);
            } else {
                System.setProperty(AetherHome.PROPERTY, old);
            }
        }
    }
}
