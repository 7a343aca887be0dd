package io.aether.ai;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Locale;
import java.util.Set;

/**
 * The secret an admin request of {@link InferenceServer} must present as
 * {@code Authorization: Bearer TOKEN}. Only its SHA-256 digest is kept, and a presented token is
 * compared digest to digest in constant time, so neither its length nor its content leaks
 * through timing. Tokens are 16 to 256 visible ASCII characters; a generated one is 32 random
 * bytes in unpadded base64url (43 characters).
 */
public final class AdminToken {

    static final int MIN_LENGTH = 16;
    static final int MAX_LENGTH = 256;
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final byte[] digest;

    private AdminToken(String token) {
        this.digest = sha256(token);
    }

    /**
     * A token of the given text.
     *
     * @throws IllegalArgumentException if it is shorter than 16 or longer than 256 characters,
     *         or holds anything but visible ASCII
     */
    public static AdminToken of(String token) {
        if (token == null || token.length() < MIN_LENGTH || token.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("an admin token must be " + MIN_LENGTH + " to " + MAX_LENGTH
                    + " characters long");
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c <= ' ' || c > '~') {
                throw new IllegalArgumentException("an admin token must be visible ASCII characters, without spaces");
            }
        }
        return new AdminToken(token);
    }

    /** 32 random bytes in unpadded base64url. */
    static String generateText() {
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    }

    /**
     * The token in {@code file}; when there is no such file, a new token written to it (mode
     * 0600, created exclusively so that two servers starting at once end with the same token).
     * A file that others can read is refused, like an SSH key.
     *
     * @throws IOException naming the file when it cannot be read or written, is readable by
     *         others, or does not hold a valid token
     */
    public static AdminToken loadOrCreate(Path file) throws IOException {
        if (!Files.exists(file)) {
            String text = generateText();
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            boolean posix = Files.getFileAttributeView(dir, PosixFileAttributeView.class) != null;
            try (SeekableByteChannel ch = posix
                    ? Files.newByteChannel(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                            PosixFilePermissions.asFileAttribute(OWNER_ONLY))
                    : Files.newByteChannel(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap((text + "\n").getBytes(StandardCharsets.US_ASCII)));
                return new AdminToken(text);
            } catch (FileAlreadyExistsException e) {
                // Another server created it first: use theirs.
            }
        }
        if (Files.getFileAttributeView(file, PosixFileAttributeView.class) != null) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (!OWNER_ONLY.containsAll(perms)) {
                throw new IOException(file + ": admin token file is readable by others (mode "
                        + PosixFilePermissions.toString(perms) + "); run chmod 600 " + file);
            }
        }
        if (Files.size(file) > MAX_LENGTH + 2) {
            throw new IOException(file + ": not an admin token (longer than " + MAX_LENGTH + " characters)");
        }
        String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        try {
            return of(text);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** Whether an {@code Authorization} header value is {@code Bearer} with this token. */
    boolean acceptsAuthorization(String header) {
        if (header == null) {
            return false;
        }
        String h = header.strip();
        int space = h.indexOf(' ');
        if (space < 0 || !h.substring(0, space).toLowerCase(Locale.ROOT).equals("bearer")) {
            return false;
        }
        return MessageDigest.isEqual(digest, sha256(h.substring(space + 1).strip()));
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    @Override
    public String toString() {
        return "AdminToken[redacted]";
    }
}
