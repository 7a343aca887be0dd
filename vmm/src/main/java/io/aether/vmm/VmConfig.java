package io.aether.vmm;

import io.aether.arch.x86_64.StubGuest;
import io.aether.common.ByteSize;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything that defines one microVM. {@link #validate} checks it against the host before any
 * VM is created, so that a bad argument fails with one line naming it.
 *
 * @param kernel bzImage or ELF vmlinux; absent for the built-in stub guest
 * @param stub the built-in stub guest's program, present exactly when {@code kernel} is absent
 * @param initrd optional initramfs
 * @param cmdline kernel command line
 * @param memory guest RAM
 * @param vcpus number of vCPUs
 * @param disks virtio-blk disks, in order (the first is /dev/vda)
 * @param tap optional TAP interface for a virtio-net device
 * @param traceExits print every vCPU exit on standard error
 * @param restartOnReboot a guest reboot restarts the VM instead of ending it
 */
public record VmConfig(Optional<Path> kernel, Optional<StubGuest.Program> stub, Optional<Path> initrd, String cmdline, ByteSize memory, int vcpus,
                       List<Disk> disks, Optional<String> tap, boolean traceExits, boolean restartOnReboot) {

    public static final String DEFAULT_CMDLINE = "console=ttyS0 panic=-1";
    public static final ByteSize DEFAULT_MEMORY = ByteSize.ofMiB(256);
    public static final ByteSize MIN_MEMORY = ByteSize.ofMiB(16);
    public static final ByteSize MAX_MEMORY = new ByteSize(1L << 40);
    /** xAPIC ids are 8 bits and 0xFF is the broadcast id. */
    public static final int MAX_VCPUS = 254;

    /** A virtio-blk disk: a raw image file. */
    public record Disk(Path path, boolean readOnly) {
        public Disk {
            Objects.requireNonNull(path, "path");
        }

        /** Parses {@code PATH}, {@code PATH,ro} or {@code PATH,rw} (the default, said explicitly). */
        public static Disk parse(String spec) {
            boolean readOnly = spec.endsWith(",ro");
            String path = readOnly || spec.endsWith(",rw") ? spec.substring(0, spec.length() - 3) : spec;
            if (path.isEmpty()) throw new IllegalArgumentException("--disk: empty path in '" + spec + "'");
            return new Disk(Path.of(path), readOnly);
        }
    }

    public VmConfig {
        Objects.requireNonNull(kernel);
        if (kernel.isPresent() == stub.isPresent()) throw new IllegalArgumentException("a VM runs either a kernel or the stub guest");
        Objects.requireNonNull(initrd);
        Objects.requireNonNull(cmdline);
        Objects.requireNonNull(memory);
        disks = List.copyOf(disks);
        Objects.requireNonNull(tap);
    }

    /** The configuration of the built-in stub guest running {@code program}. */
    public static VmConfig stub(StubGuest.Program program, boolean traceExits) {
        return new VmConfig(Optional.empty(), Optional.of(program), Optional.empty(), "", ByteSize.ofMiB(16), 1, List.of(),
                Optional.empty(), traceExits, false);
    }

    /** A Linux guest with the defaults for everything but the kernel. */
    public static VmConfig linux(Path kernel) {
        return new VmConfig(Optional.of(kernel), Optional.empty(), Optional.empty(), DEFAULT_CMDLINE, DEFAULT_MEMORY, 1,
                List.of(), Optional.empty(), false, false);
    }

    public boolean isStub() {
        return stub.isPresent();
    }

    /**
     * Checks the configuration against the host.
     *
     * @param hostMaxVcpus what the host's KVM allows ({@code KVM_CAP_MAX_VCPUS})
     * @throws IllegalArgumentException with a one-line message naming the bad option
     */
    public void validate(int hostMaxVcpus) {
        kernel.ifPresent(k -> requireReadableFile("--kernel", k));
        initrd.ifPresent(i -> requireReadableFile("--initrd", i));
        if (initrd.isPresent() && kernel.isEmpty()) throw new IllegalArgumentException("--initrd needs --kernel");
        if (cmdline.indexOf('\0') >= 0) throw new IllegalArgumentException("--cmdline: contains a NUL character");
        if (memory.bytes() < MIN_MEMORY.bytes()) {
            throw new IllegalArgumentException("--mem: " + memory + " is too small (at least " + MIN_MEMORY + ")");
        }
        if (memory.bytes() > MAX_MEMORY.bytes()) {
            throw new IllegalArgumentException("--mem: " + memory + " is too large (at most " + MAX_MEMORY + ")");
        }
        if (memory.bytes() % 4096 != 0) throw new IllegalArgumentException("--mem: " + memory + " is not a multiple of 4K");
        int limit = Math.min(MAX_VCPUS, hostMaxVcpus);
        if (vcpus < 1 || vcpus > limit) {
            throw new IllegalArgumentException("--vcpus: " + vcpus + " is out of range (1 to " + limit + " on this host)");
        }
        for (Disk d : disks) {
            requireReadableFile("--disk", d.path());
            if (!d.readOnly() && !Files.isWritable(d.path())) {
                throw new IllegalArgumentException("--disk: " + d.path() + " is not writable (add ,ro to attach it read-only)");
            }
        }
        tap.ifPresent(t -> {
            if (t.isEmpty() || t.length() > 15 || t.contains("/") || t.contains(" ")) {
                throw new IllegalArgumentException("--net: '" + t + "' is not an interface name (1 to 15 characters)");
            }
        });
    }

    private static void requireReadableFile(String option, Path p) {
        if (!Files.exists(p)) throw new IllegalArgumentException(option + ": no such file: " + p);
        if (!Files.isRegularFile(p)) throw new IllegalArgumentException(option + ": not a regular file: " + p);
        if (!Files.isReadable(p)) throw new IllegalArgumentException(option + ": cannot read " + p);
    }
}
