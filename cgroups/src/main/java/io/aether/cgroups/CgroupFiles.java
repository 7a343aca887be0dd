package io.aether.cgroups;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Reads and writes of cgroup control files, each failure one line naming the file. */
final class CgroupFiles {

    /** Control files are a few lines; anything longer is not one. */
    private static final int MAX_CONTROL_FILE = 64 * 1024;

    private CgroupFiles() {
    }

    /**
     * Writes {@code value} in one {@code write(2)}, without creating or truncating the file:
     * the kernel takes each write as one command.
     */
    static void write(Path file, String value) throws CgroupException {
        try {
            Files.write(file, value.getBytes(StandardCharsets.US_ASCII), StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new CgroupException("cannot write '" + value + "' to " + file + ": " + reason(e), e);
        }
    }

    static String read(Path file) throws CgroupException {
        byte[] content;
        // kernfs reports a size of 4096 or 0 whatever a file holds: bound the read itself
        try (InputStream in = Files.newInputStream(file)) {
            content = in.readNBytes(MAX_CONTROL_FILE + 1);
        } catch (IOException e) {
            throw new CgroupException("cannot read " + file + ": " + reason(e), e);
        }
        if (content.length > MAX_CONTROL_FILE) throw new CgroupException(file + ": longer than " + MAX_CONTROL_FILE + " bytes");
        return new String(content, StandardCharsets.US_ASCII);
    }

    /** A file holding one number. */
    static long readLong(Path file) throws CgroupException {
        return parse(file, read(file).strip());
    }

    /** The value of {@code key} in a file of {@code key value} lines ({@code cpu.stat}, {@code memory.events}). */
    static long readKey(Path file, String key) throws CgroupException {
        return findKey(file, key).orElseThrow(() -> new CgroupException(file + ": no '" + key + "' line"));
    }

    static Optional<Long> findKey(Path file, String key) throws CgroupException {
        for (String line : read(file).split("\n")) {
            String[] words = line.strip().split("\\s+");
            if (words.length == 2 && words[0].equals(key)) return Optional.of(parse(file, words[1]));
        }
        return Optional.empty();
    }

    /** The pids in a {@code cgroup.procs} file. */
    static List<Long> pids(Path procs) throws CgroupException {
        List<Long> pids = new ArrayList<>();
        for (String line : read(procs).split("\n")) {
            if (!line.isBlank()) pids.add(parse(procs, line.strip()));
        }
        return pids;
    }

    static long parse(Path file, String text) throws CgroupException {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new CgroupException(file + ": '" + (text.length() > 40 ? text.substring(0, 40) + "..." : text) + "' is not a number");
        }
    }

    /** The kernel's reason alone: a FileSystemException's message repeats the path. */
    static String reason(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file";
        String reason = e instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : e.getMessage();
        return reason != null ? reason : e.getClass().getSimpleName();
    }
}
