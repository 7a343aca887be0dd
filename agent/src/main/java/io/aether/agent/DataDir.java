package io.aether.agent;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.aether.common.FieldException;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The agent's data directory: {@code vms/ID/} per VM with {@code spec.json}, {@code record.json},
 * the monitor's socket {@code monitor.sock}, its output {@code monitor.log} and the console log
 * {@code console.log}. Every file is written whole or not at all (a temporary file, fsync,
 * rename, fsync of the directory; a record on a VM's start path is renamed into place at once and
 * synced with {@link #sync}); a VM's folder appears whole (built under a temporary name,
 * then renamed, then synced) and goes whole (renamed away, then removed), so an agent killed at any moment
 * finds each VM complete or absent. One agent at a time: {@code agent.lock} is locked while it
 * is open, so a second agent on the same directory is refused before it touches anything.
 */
final class DataDir implements AutoCloseable {

    /** Far above a real record; bounds what a damaged file can make the agent read. */
    private static final int MAX_RECORD_BYTES = 64 * 1024;
    /** What {@code sun_path} holds, less its NUL. */
    static final int MAX_SOCKET_PATH = 107;
    private static final String TEMP_PREFIX = ".new-";
    private static final String TRASH_PREFIX = ".gone-";

    private static final JsonMapper MAPPER = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private final Path root;
    private final Path vms;
    private FileChannel lock;

    private DataDir(Path root) {
        this.root = root;
        this.vms = root.resolve("vms");
    }

    /** Opens (creating, mode 0700) the data directory; leftovers of interrupted creates and deletes are removed. */
    static DataDir open(Path root) throws IOException {
        DataDir dir = new DataDir(root.toAbsolutePath().normalize());
        for (Path p : List.of(dir.root, dir.vms)) {
            if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
        }
        dir.lock = FileChannel.open(dir.root.resolve("agent.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        boolean locked;
        try {
            locked = dir.lock.tryLock() != null;
        } catch (java.nio.channels.OverlappingFileLockException e) {
            locked = false; // this JVM holds it
        }
        if (!locked) {
            dir.lock.close();
            throw new IOException(dir.root + ": another aether node is using this data directory");
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir.vms)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (name.startsWith(TEMP_PREFIX) || name.startsWith(TRASH_PREFIX)) deleteTree(p);
            }
        } catch (IOException | RuntimeException e) {
            dir.close();
            throw e;
        }
        return dir;
    }

    /** Lets another agent open the directory. */
    @Override
    public void close() {
        try {
            lock.close();
        } catch (IOException e) {
            // Closing the channel releases the lock whatever it says.
        }
    }

    Path root() {
        return root;
    }

    Path folder(String id) {
        return vms.resolve(id);
    }

    Path socket(String id) {
        return folder(id).resolve("monitor.sock");
    }

    Path specFile(String id) {
        return folder(id).resolve("spec.json");
    }

    Path monitorLog(String id) {
        return folder(id).resolve("monitor.log");
    }

    Path consoleLog(String id) {
        return folder(id).resolve("console.log");
    }

    /** The folder of VM {@code id}'s snapshots, one folder each; {@code name} is checked by the API. */
    Path snapshots(String id) {
        return folder(id).resolve("snapshots");
    }

    /** Removes a snapshot folder a failed snapshot left, whatever it holds. */
    static void deleteSnapshot(Path snapshot) throws IOException {
        deleteTree(snapshot);
    }

    /** The ids of every VM folder, sorted. */
    List<String> ids() throws IOException {
        List<String> ids = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(vms)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (!name.startsWith(".") && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) ids.add(name);
            }
        }
        ids.sort(Comparator.naturalOrder());
        return ids;
    }

    /** A record as its file holds it. */
    static byte[] json(VmRecord record) throws IOException {
        return MAPPER.writeValueAsBytes(record);
    }

    /**
     * Creates the folder of VM {@code record.id()} whole, visible at once to any process but not
     * yet durable: {@link #sync} makes it so. Kept apart so that the VM's monitor can start while
     * the disk catches up; a create is answered only after its sync.
     *
     * @throws java.nio.file.FileAlreadyExistsException if a VM of that id exists
     */
    void create(VmSpec spec, VmRecord record) throws IOException {
        Path temp = vms.resolve(TEMP_PREFIX + record.id() + "-" + UUID.randomUUID());
        Files.createDirectory(temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            // The folder appears whole by its rename: its files need no renames of their own.
            Files.write(temp.resolve("spec.json"), VmSpecJson.write(spec).getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE_NEW);
            Files.write(temp.resolve("record.json"), json(record), StandardOpenOption.CREATE_NEW);
            Path target = folder(record.id());
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) throw new java.nio.file.FileAlreadyExistsException(target.toString());
            // rename(2) onto a directory that is not empty fails, so two creates cannot both win.
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            deleteTree(temp);
            throw e;
        }
    }

    /** Makes VM {@code id}'s folder as it is now durable: its spec and record, the folder's entries, the folder in {@code vms}. */
    void sync(String id) throws IOException {
        Path folder = folder(id);
        // Files before the entries that name them, the folder before its own entry.
        for (Path p : List.of(folder.resolve("spec.json"), folder.resolve("record.json"), folder, vms)) fsync(p);
    }

    /**
     * Makes VM {@code id}'s record as it is now durable, and its entry in the folder: what a start
     * changes in a folder made durable before (by {@link #sync}, which may still be running).
     */
    void syncRecord(String id) throws IOException {
        Path folder = folder(id);
        for (Path p : List.of(folder.resolve("record.json"), folder)) fsync(p);
    }

    /** Writes the record whole and durably: the rename once the file is synced, then the folder synced. */
    void write(VmRecord record) throws IOException {
        writeAtomically(folder(record.id()).resolve("record.json"), json(record));
    }

    /**
     * Writes the record whole (a rename) without waiting for the disk: an agent restarted after a
     * crash of its own reads it; after the machine's crash the last synced record stands.
     */
    void writeUnsynced(VmRecord record) throws IOException {
        replace(folder(record.id()).resolve("record.json"), json(record), false);
    }

    /** One VM's spec and record as the folder holds them. */
    record Stored(VmSpec spec, VmRecord record) {
    }

    /** Reads VM {@code id}'s folder; a damaged one is an {@link IOException} naming the file and the problem. */
    Stored read(String id) throws IOException {
        Path specFile = specFile(id);
        Path recordFile = folder(id).resolve("record.json");
        VmSpec spec;
        try {
            spec = VmSpecJson.read(new String(readBounded(specFile), StandardCharsets.UTF_8));
        } catch (FieldException e) {
            throw new IOException(specFile + ": " + e.getMessage(), e);
        }
        byte[] recordBytes = readBounded(recordFile);
        VmRecord record;
        try {
            record = MAPPER.readValue(recordBytes, VmRecord.class);
        } catch (IOException e) {
            throw new IOException(recordFile + ": not a VM record: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), e);
        }
        if (!record.id().equals(id)) throw new IOException(recordFile + ": id: '" + record.id() + "' in the folder of '" + id + "'");
        return new Stored(spec, record);
    }

    /** Removes VM {@code id}'s folder: renamed away first, so that it is gone whole even if the removal is cut short. */
    void delete(String id) throws IOException {
        Path trash = vms.resolve(TRASH_PREFIX + id + "-" + UUID.randomUUID());
        Files.move(folder(id), trash, StandardCopyOption.ATOMIC_MOVE);
        fsync(vms);
        deleteTree(trash);
    }

    private static byte[] readBounded(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            byte[] bytes = in.readNBytes(MAX_RECORD_BYTES + 1);
            if (bytes.length > MAX_RECORD_BYTES) throw new IOException(file + ": over " + MAX_RECORD_BYTES + " bytes");
            return bytes;
        }
    }

    /** Writes {@code data} to a temporary file beside {@code file}, syncs it, renames it over {@code file}, syncs the directory. */
    static void writeAtomically(Path file, byte[] data) throws IOException {
        replace(file, data, true);
    }

    private static void replace(Path file, byte[] data, boolean sync) throws IOException {
        Path temp = file.resolveSibling("." + file.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(data);
                while (buffer.hasRemaining()) ch.write(buffer);
                if (sync) ch.force(true);
            }
            try {
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException(file.getParent() + ": cannot rename atomically here", e);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        if (sync) fsync(file.getParent());
    }

    /** Syncs a file or a directory (opened for reading: a directory cannot be opened for writing). */
    static void fsync(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    static void deleteTree(Path top) throws IOException {
        if (!Files.exists(top, LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> all = Files.walk(top)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
