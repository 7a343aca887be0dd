package io.aether.security;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Set;

/**
 * ML-DSA-65 keys in PEM files: private keys as PKCS#8 ({@code PRIVATE KEY}) readable by the owner
 * only, public keys as X.509 SubjectPublicKeyInfo ({@code PUBLIC KEY}). Files are written to a
 * temporary name, synced and renamed, so a crash leaves the old file or the new one, never half.
 */
public final class KeyFiles {

    static final String ALGORITHM = "ML-DSA-65";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private KeyFiles() {
    }

    /** Writes {@code key} to {@code file} with mode 0600; refuses to overwrite an existing file. */
    static void writePrivate(Path file, PrivateKey key) throws IOException {
        if (Files.exists(file)) {
            throw new FileAlreadyExistsException(file.toString(), null, "a private key is already there; refusing to overwrite it");
        }
        writeAtomically(file, Pem.encode("PRIVATE KEY", key.getEncoded()), true);
    }

    /** Writes {@code key} to {@code file} (replacing it). */
    static void writePublic(Path file, PublicKey key) throws IOException {
        writeAtomically(file, Pem.encode("PUBLIC KEY", key.getEncoded()), false);
    }

    /** Reads an ML-DSA-65 private key; refuses a file that others can read. */
    static PrivateKey readPrivate(Path file) throws IOException {
        if (Files.getFileAttributeView(file, java.nio.file.attribute.PosixFileAttributeView.class) != null) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (!OWNER_ONLY.containsAll(perms)) {
                throw new IOException(file + ": private key file is readable by others (mode "
                        + PosixFilePermissions.toString(perms) + "); run chmod 600 " + file);
            }
        }
        byte[] der = Pem.decode("PRIVATE KEY", Files.readAllBytes(file), file.toString());
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new IOException(file + ": not an " + ALGORITHM + " private key (" + e.getMessage() + ")", e);
        }
    }

    /** Reads an ML-DSA-65 public key. */
    public static PublicKey readPublic(Path file) throws IOException {
        return decodePublic(Pem.decode("PUBLIC KEY", Files.readAllBytes(file), file.toString()), file.toString());
    }

    /** Decodes an X.509-encoded ML-DSA-65 public key; {@code what} names its source in errors. */
    static PublicKey decodePublic(byte[] der, String what) throws IOException {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new IOException(what + ": not an " + ALGORITHM + " public key (" + e.getMessage() + ")", e);
        }
    }

    /** Temp file beside the target, fsync, atomic rename, fsync of the directory. */
    static void writeAtomically(Path file, byte[] content, boolean ownerOnly) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".tmp-" + file.getFileName(), "");
        try {
            if (ownerOnly) {
                Files.setPosixFilePermissions(tmp, OWNER_ONLY);
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ch.write(java.nio.ByteBuffer.wrap(content));
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            syncDirectory(dir);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems cannot open or sync a directory; the rename itself is still atomic.
        }
    }
}
