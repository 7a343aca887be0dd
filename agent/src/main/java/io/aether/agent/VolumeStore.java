package io.aether.agent;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.aether.agentapi.CreateVolume;
import io.aether.agentapi.Names;
import io.aether.http.ApiError;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.logging.Logger;

/**
 * The node's volumes: {@code volumes/NAME/} holds {@code volume.json} and {@code data.img}, a
 * sparse raw image that VMs attach as a virtio disk. A volume outlives the VMs that use it.
 *
 * <p>Capacity is accounted by size, not by the blocks written so far: the sizes of all volumes add
 * up to at most the node's volume capacity, so a guest can always fill the disk it was given
 * without the node's disk running out under another guest. Folders appear and go whole (built
 * under a temporary name, then renamed; renamed away, then removed), so an agent killed at any
 * moment finds each volume complete or absent.
 */
final class VolumeStore {

    private static final Logger LOG = Logger.getLogger(VolumeStore.class.getName());
    private static final String TEMP_PREFIX = ".new-";
    private static final String TRASH_PREFIX = ".gone-";
    private static final int MAX_META_BYTES = 16 * 1024;
    private static final JsonMapper MAPPER = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    /** What {@code volume.json} holds. */
    record Meta(String name, long sizeBytes, Map<String, String> labels, String createdAt) {
    }

    private final Path dir;
    private final long capacityBytes;
    private final Map<String, Meta> volumes = new TreeMap<>();

    private VolumeStore(Path dir, long capacityBytes) {
        this.dir = dir;
        this.capacityBytes = capacityBytes;
    }

    /**
     * Opens {@code volumes/} under the data directory (creating it, mode 0700), removing the
     * leftovers of interrupted creates and deletes. A volume whose {@code volume.json} cannot be
     * read is logged and left alone (its data is the user's), not listed.
     */
    static VolumeStore open(Path dataRoot, long capacityBytes) throws IOException {
        if (capacityBytes < 0) throw new IllegalArgumentException("volume capacity: " + capacityBytes + " bytes");
        Path dir = dataRoot.resolve("volumes");
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        VolumeStore store = new VolumeStore(dir, capacityBytes);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (name.startsWith(TEMP_PREFIX) || name.startsWith(TRASH_PREFIX)) {
                    DataDir.deleteTree(p);
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    try {
                        store.volumes.put(name, read(p, name));
                    } catch (IOException e) {
                        LOG.warning("volume " + name + " is not listed: " + e.getMessage());
                    }
                }
            }
        }
        return store;
    }

    private static Meta read(Path folder, String name) throws IOException {
        Path file = folder.resolve("volume.json");
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes(MAX_META_BYTES + 1);
        }
        if (bytes.length > MAX_META_BYTES) throw new IOException(file + ": over " + MAX_META_BYTES + " bytes");
        Meta meta;
        try {
            meta = MAPPER.readValue(bytes, Meta.class);
        } catch (IOException e) {
            throw new IOException(file + ": not a volume record: " + e.getMessage(), e);
        }
        if (!name.equals(meta.name())) throw new IOException(file + ": name: '" + meta.name() + "' in the folder of '" + name + "'");
        Path image = folder.resolve("data.img");
        if (!Files.isRegularFile(image, LinkOption.NOFOLLOW_LINKS) || Files.size(image) != meta.sizeBytes()) {
            throw new IOException(image + ": missing, or not " + meta.sizeBytes() + " bytes long");
        }
        return meta;
    }

    long capacityBytes() {
        return capacityBytes;
    }

    synchronized long provisionedBytes() {
        return volumes.values().stream().mapToLong(Meta::sizeBytes).sum();
    }

    synchronized List<Meta> list() {
        return List.copyOf(volumes.values());
    }

    synchronized Meta get(String name) {
        Meta meta = volumes.get(name);
        if (meta == null) throw new ApiError.NotFound("no volume named " + name).exception();
        return meta;
    }

    /** The image a VM attaches. */
    Path image(String name) {
        return dir.resolve(get(name).name()).resolve("data.img");
    }

    /** Creates a volume whole, or refuses (409) when the name is taken or capacity would be exceeded, creating nothing. */
    synchronized Meta create(CreateVolume request, Instant now) throws IOException {
        String name = request.name();
        if (volumes.containsKey(name)) throw new ApiError.Conflict("volume " + name + " exists").exception();
        long size = request.sizeBytes();
        long free = capacityBytes - provisionedBytes();
        if (size > free) {
            throw new ApiError.Conflict("volume " + name + ": " + size + " bytes asked, " + free + " of the node's "
                    + capacityBytes + " bytes of volume capacity left").exception();
        }
        Meta meta = new Meta(name, size, request.labels(), now.toString());
        Path temp = dir.resolve(TEMP_PREFIX + name + "-" + UUID.randomUUID());
        Files.createDirectory(temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            try (RandomAccessFile image = new RandomAccessFile(temp.resolve("data.img").toFile(), "rw")) {
                image.setLength(size); // sparse: no block is written
                image.getFD().sync();
            }
            DataDir.writeAtomically(temp.resolve("volume.json"), MAPPER.writeValueAsBytes(meta));
            Path target = dir.resolve(name);
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) throw new FileAlreadyExistsException(target.toString());
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            DataDir.fsync(dir);
        } catch (IOException | RuntimeException e) {
            DataDir.deleteTree(temp);
            throw e;
        }
        volumes.put(name, meta);
        return meta;
    }

    /** Deletes a volume and its data; refused (409) while a VM has it attached. */
    synchronized void delete(String name, List<String> attachedTo) throws IOException {
        Names.requireVolumeName(name);
        get(name);
        if (!attachedTo.isEmpty()) {
            throw new ApiError.Conflict("volume " + name + " is attached to " + String.join(", ", attachedTo)
                    + ": delete those VMs first").exception();
        }
        Path trash = dir.resolve(TRASH_PREFIX + name + "-" + UUID.randomUUID());
        Files.move(dir.resolve(name), trash, StandardCopyOption.ATOMIC_MOVE);
        DataDir.fsync(dir);
        volumes.remove(name);
        DataDir.deleteTree(trash);
    }
}
