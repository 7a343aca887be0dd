package io.aether.vmspec;

import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import io.aether.common.MacAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything that defines one microVM: the one description that {@code aether vm run}, the node
 * agent's API and snapshots share ({@link VmSpecJson} is its JSON form).
 *
 * <p>A spec is checked when it is built: a value out of range is a {@link FieldException} that
 * names the field as the JSON form spells it ({@code memory: 8M is too small (at least 16M)},
 * {@code disks[1].path: ...}). What only the machine that runs the VM can tell (the files exist,
 * its KVM takes that many vCPUs) is {@link #checkHost}.
 *
 * <p>How a process runs the VM (exit tracing, where the console goes) is not part of the VM and
 * stays out of the spec.
 *
 * @param boot what the vCPUs start: a Linux kernel or the built-in stub guest
 * @param memory guest RAM
 * @param vcpus number of vCPUs
 * @param disks virtio-blk disks, in order (the first is /dev/vda)
 * @param nics virtio-net devices, in order, each on a host TAP interface
 * @param onReboot what a guest reboot does
 */
public record VmSpec(Boot boot, ByteSize memory, int vcpus, List<Disk> disks, List<Nic> nics, OnReboot onReboot) {

    public static final String DEFAULT_CMDLINE = "console=ttyS0 panic=-1";
    public static final ByteSize DEFAULT_MEMORY = ByteSize.ofMiB(256);
    /** The stub guest's code and tables fit in its first MiB; this is the least any VM gets. */
    public static final ByteSize STUB_MEMORY = ByteSize.ofMiB(16);
    public static final ByteSize MIN_MEMORY = ByteSize.ofMiB(16);
    public static final ByteSize MAX_MEMORY = new ByteSize(1L << 40);
    /** xAPIC ids are 8 bits and 0xFF is the broadcast id. */
    public static final int MAX_VCPUS = 254;
    /**
     * Disks and NICs together. Each takes an interrupt line of its own: x86_64's IOAPIC has 19
     * after the ISA devices, and the entropy device takes one of them.
     */
    public static final int MAX_DEVICES = 18;
    /** Linux's IFNAMSIZ less the terminating NUL. */
    static final int MAX_TAP_NAME = 15;

    /** What the vCPUs start. */
    public sealed interface Boot {

        /**
         * A Linux kernel.
         *
         * @param kernel bzImage or ELF vmlinux (with a PVH note)
         * @param initrd optional initramfs
         * @param cmdline kernel command line
         */
        record Linux(Path kernel, Optional<Path> initrd, String cmdline) implements Boot {
            public Linux {
                Objects.requireNonNull(kernel, "kernel");
                Objects.requireNonNull(initrd, "initrd");
                Objects.requireNonNull(cmdline, "cmdline");
            }
        }

        /** The built-in stub guest: no kernel, one vCPU, a UART and nothing else. */
        record Stub(StubProgram program) implements Boot {
            public Stub {
                Objects.requireNonNull(program, "program");
            }
        }
    }

    /** What the stub guest does after its greeting. */
    public enum StubProgram {
        /** Halts. */
        HELLO,
        /** Echoes what it reads on the UART until Ctrl-D, then halts. */
        ECHO,
        /** Prints the digits 0 to 9 and a line break, over and over, for ever. */
        COUNT,
        /** Triple-faults. */
        CRASH,
        /** Polls the i8042 keyboard until Ctrl-Alt-Del arrives, then resets through the controller (x86_64). */
        KEYBOARD,
        /** Makes the monitor's own SMCCC call through HVC and prints its answer, then powers off (aarch64). */
        HYPERCALL;

        /** The name users write: {@code hello}. */
        public String id() {
            return VmSpec.id(this);
        }

        /** The program called {@code id}; the error names {@code boot.stub}. */
        public static StubProgram parse(String id) {
            return byId(values(), id, "boot.stub");
        }
    }

    /** What a guest reboot does. */
    public enum OnReboot {
        /** The VM ends (its monitor exits with status 0). */
        EXIT,
        /** The VM is built again from the same spec and boots again. */
        RESTART;

        public String id() {
            return VmSpec.id(this);
        }

        /** The action called {@code id}; the error names {@code onReboot}. */
        public static OnReboot parse(String id) {
            return byId(values(), id, "onReboot");
        }
    }

    /**
     * Token buckets on one device's traffic, enforced by its device model without busy-waiting: a
     * request over the budget waits in its queue until tokens return, so the guest sees a slower
     * device, not errors. On average at most {@code bytesPerSecond} bytes and {@code opsPerSecond}
     * operations (disk requests, network frames) a second, 0 leaving that one unlimited; a bucket
     * holds {@code bytesBurst} / {@code opsBurst} tokens (0: one second's worth), what an idle
     * device may spend at once. One request larger than its bucket goes when the bucket is full
     * and leaves it in debt, so no request is refused for its size.
     */
    public record RateLimit(long bytesPerSecond, long opsPerSecond, long bytesBurst, long opsBurst) {

        /** 2^40 a second (1 TiB/s, or 10^12 operations): far above any device, and keeps token arithmetic in range. */
        public static final long MAX = 1L << 40;

        /** Errors name the field inside the limit ({@code opsBurst}), or {@code rateLimit} for the whole. */
        public RateLimit {
            inRange("bytesPerSecond", bytesPerSecond);
            inRange("opsPerSecond", opsPerSecond);
            inRange("bytesBurst", bytesBurst);
            inRange("opsBurst", opsBurst);
            if (bytesPerSecond == 0 && opsPerSecond == 0) {
                throw new FieldException("rateLimit", "limits nothing (give bytesPerSecond, opsPerSecond or both)");
            }
            if (bytesBurst != 0 && bytesPerSecond == 0) throw new FieldException("bytesBurst", "needs bytesPerSecond");
            if (opsBurst != 0 && opsPerSecond == 0) throw new FieldException("opsBurst", "needs opsPerSecond");
        }

        private static void inRange(String field, long value) {
            if (value < 0 || value > MAX) throw new FieldException(field, value + " is out of range (0 to " + MAX + ")");
        }

        /** The bytes bucket's size. */
        public long bytesCapacity() {
            return bytesBurst != 0 ? bytesBurst : bytesPerSecond;
        }

        /** The operations bucket's size. */
        public long opsCapacity() {
            return opsBurst != 0 ? opsBurst : opsPerSecond;
        }
    }

    /**
     * A virtio-blk disk: a raw image file.
     *
     * @param rateLimit IOPS and bandwidth of the disk's requests, reads and writes together
     */
    public record Disk(Path path, boolean readOnly, Optional<RateLimit> rateLimit) {
        public Disk {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(rateLimit, "rateLimit");
        }

        /** A disk without a rate limit. */
        public Disk(Path path, boolean readOnly) {
            this(path, readOnly, Optional.empty());
        }
    }

    /**
     * A virtio-net device on a host TAP interface.
     *
     * @param mac the guest's address; absent until {@link #withMacsFor} chooses one
     * @param rxRateLimit frames and bytes to the guest
     * @param txRateLimit frames and bytes from the guest
     */
    public record Nic(String tap, Optional<MacAddress> mac, Optional<RateLimit> rxRateLimit, Optional<RateLimit> txRateLimit) {
        public Nic {
            Objects.requireNonNull(tap, "tap");
            Objects.requireNonNull(mac, "mac");
            Objects.requireNonNull(rxRateLimit, "rxRateLimit");
            Objects.requireNonNull(txRateLimit, "txRateLimit");
        }

        /** A NIC without rate limits. */
        public Nic(String tap, Optional<MacAddress> mac) {
            this(tap, mac, Optional.empty(), Optional.empty());
        }

        public Nic withMac(MacAddress value) {
            return new Nic(tap, Optional.of(value), rxRateLimit, txRateLimit);
        }
    }

    public VmSpec {
        Objects.requireNonNull(boot, "boot");
        Objects.requireNonNull(memory, "memory");
        disks = List.copyOf(disks);
        nics = List.copyOf(nics);
        Objects.requireNonNull(onReboot, "onReboot");
        // An if, not a pattern switch: each pattern switch spins a class at its first use, which no AOT
        // cache holds, and this one runs on every monitor's start (docs/BENCHMARKS.md (f)).
        if (boot instanceof Boot.Linux linux) {
            requirePath("boot.kernel", linux.kernel());
            linux.initrd().ifPresent(i -> requirePath("boot.initrd", i));
            if (linux.cmdline().indexOf('\0') >= 0) throw new FieldException("boot.cmdline", "contains a NUL character");
        } else {
            if (vcpus != 1) throw new FieldException("vcpus", "the stub guest runs on 1 vCPU, not " + vcpus);
            if (!disks.isEmpty()) throw new FieldException("disks", "the stub guest has no disks");
            if (!nics.isEmpty()) throw new FieldException("nics", "the stub guest has no network devices");
        }
        if (memory.bytes() < MIN_MEMORY.bytes()) throw new FieldException("memory", memory + " is too small (at least " + MIN_MEMORY + ")");
        if (memory.bytes() > MAX_MEMORY.bytes()) throw new FieldException("memory", memory + " is too large (at most " + MAX_MEMORY + ")");
        if (memory.bytes() % 4096 != 0) throw new FieldException("memory", memory + " is not a multiple of 4K");
        if (vcpus < 1 || vcpus > MAX_VCPUS) throw new FieldException("vcpus", vcpus + " is out of range (1 to " + MAX_VCPUS + ")");
        if (disks.size() + nics.size() > MAX_DEVICES) {
            throw new FieldException(disks.size() > MAX_DEVICES ? "disks" : "nics", disks.size() + " disks and " + nics.size()
                    + " NICs are more than a VM has room for (" + MAX_DEVICES + " together)");
        }
        for (int i = 0; i < disks.size(); i++) {
            Path path = disks.get(i).path();
            requirePath("disks[" + i + "].path", path);
            for (int j = 0; j < i; j++) {
                if (disks.get(j).path().normalize().equals(path.normalize())) {
                    throw new FieldException("disks[" + i + "].path", printable(path.toString()) + " is already disks[" + j + "]");
                }
            }
        }
        for (int i = 0; i < nics.size(); i++) {
            Nic nic = nics.get(i);
            String tap = nic.tap();
            if (tap.isEmpty() || tap.length() > MAX_TAP_NAME || !tap.chars().allMatch(c -> c > ' ' && c < 0x7F && c != '/')) {
                throw new FieldException("nics[" + i + "].tap", "'" + printable(tap) + "' is not an interface name (1 to "
                        + MAX_TAP_NAME + " characters, no '/' or spaces)");
            }
            for (int j = 0; j < i; j++) {
                Nic other = nics.get(j);
                if (other.tap().equals(tap)) throw new FieldException("nics[" + i + "].tap", tap + " is already nics[" + j + "]'s");
                if (nic.mac().isPresent() && nic.mac().equals(other.mac())) {
                    throw new FieldException("nics[" + i + "].mac", nic.mac().get() + " is already nics[" + j + "]'s");
                }
            }
        }
    }

    /** A Linux guest with the defaults for everything but the kernel. */
    public static VmSpec linux(Path kernel) {
        return new VmSpec(new Boot.Linux(kernel, Optional.empty(), DEFAULT_CMDLINE), DEFAULT_MEMORY, 1, List.of(), List.of(), OnReboot.EXIT);
    }

    /** The built-in stub guest running {@code program}, in {@link #STUB_MEMORY}. */
    public static VmSpec stub(StubProgram program) {
        return new VmSpec(new Boot.Stub(program), STUB_MEMORY, 1, List.of(), List.of(), OnReboot.EXIT);
    }

    public VmSpec withBoot(Boot value) {
        return new VmSpec(value, memory, vcpus, disks, nics, onReboot);
    }

    public VmSpec withMemory(ByteSize value) {
        return new VmSpec(boot, value, vcpus, disks, nics, onReboot);
    }

    public VmSpec withVcpus(int value) {
        return new VmSpec(boot, memory, value, disks, nics, onReboot);
    }

    public VmSpec withDisks(List<Disk> value) {
        return new VmSpec(boot, memory, vcpus, value, nics, onReboot);
    }

    public VmSpec withNics(List<Nic> value) {
        return new VmSpec(boot, memory, vcpus, disks, value, onReboot);
    }

    public VmSpec withOnReboot(OnReboot value) {
        return new VmSpec(boot, memory, vcpus, disks, nics, value);
    }

    /**
     * This spec with an address for every NIC that has none, derived from {@code vmId} and the
     * NIC's index: locally administered and unicast, the same for the same VM and index (a VM keeps
     * its addresses when it reboots, restarts or is restored) and, with 46 bits drawn from a hash,
     * different between VMs. Addresses already given stay.
     *
     * @param vmId what names this VM for as long as it exists (the node agent's VM id, say)
     */
    public VmSpec withMacsFor(String vmId) {
        if (vmId.isEmpty()) throw new IllegalArgumentException("a VM id cannot be empty");
        List<Nic> chosen = new ArrayList<>(nics.size());
        for (int i = 0; i < nics.size(); i++) {
            Nic nic = nics.get(i);
            chosen.add(nic.mac().isPresent() ? nic : nic.withMac(derivedMac(vmId, i)));
        }
        return withNics(chosen);
    }

    /** SHA-256 of {@code aether-nic:<vmId>/<index>}; its first six bytes, local bit set, group bit clear. */
    static MacAddress derivedMac(String vmId, int index) {
        byte[] hash;
        try {
            hash = MessageDigest.getInstance("SHA-256").digest(("aether-nic:" + vmId + "/" + index).getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        long value = (hash[0] & 0xFC | 0x02) & 0xFF;
        for (int i = 1; i < 6; i++) value = value << 8 | (hash[i] & 0xFF);
        return new MacAddress(value);
    }

    /**
     * Checks what only the machine that runs the VM can tell: the kernel, initrd and disk images
     * are regular files it can read (and write, for a disk not attached read-only), and its KVM
     * takes this many vCPUs.
     *
     * @param hostMaxVcpus what the host's KVM allows ({@code KVM_CAP_MAX_VCPUS})
     * @throws FieldException naming the first field the host cannot serve
     */
    public void checkHost(int hostMaxVcpus) {
        if (boot instanceof Boot.Linux linux) {
            requireReadableFile("boot.kernel", linux.kernel());
            linux.initrd().ifPresent(i -> requireReadableFile("boot.initrd", i));
        }
        int limit = Math.min(MAX_VCPUS, hostMaxVcpus);
        if (vcpus > limit) throw new FieldException("vcpus", vcpus + " is out of range (1 to " + limit + " on this host)");
        for (int i = 0; i < disks.size(); i++) {
            Disk disk = disks.get(i);
            requireReadableFile("disks[" + i + "].path", disk.path());
            if (!disk.readOnly() && !Files.isWritable(disk.path())) {
                throw new FieldException("disks[" + i + "].path", printable(disk.path().toString()) + " is not writable (attach it read-only)");
            }
        }
    }

    private static void requirePath(String field, Path path) {
        if (path.toString().isEmpty()) throw new FieldException(field, "empty path");
    }

    private static void requireReadableFile(String field, Path path) {
        String shown = printable(path.toString());
        if (!Files.exists(path)) throw new FieldException(field, "no such file: " + shown);
        if (!Files.isRegularFile(path)) throw new FieldException(field, "not a regular file: " + shown);
        if (!Files.isReadable(path)) throw new FieldException(field, "cannot read " + shown);
    }

    /** An enum constant as the JSON and the command line write it: {@code hello}, {@code restart}. */
    private static String id(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    /** The constant written {@code id}, or an error for {@code field} that lists them all ("hello, echo, count, crash, keyboard or hypercall"). */
    private static <E extends Enum<E>> E byId(E[] values, String id, String field) {
        StringBuilder choices = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            if (id(values[i]).equals(id)) return values[i];
            if (i > 0) choices.append(i == values.length - 1 ? " or " : ", ");
            choices.append(id(values[i]));
        }
        throw new FieldException(field, "'" + printable(id) + "' is not " + choices);
    }

    /** Text from outside, fit for a one-line message: control and non-ASCII characters as '?', at most 200 of them. */
    static String printable(String text) {
        StringBuilder b = new StringBuilder();
        text.codePoints().limit(200).forEach(c -> b.append(c >= ' ' && c < 0x7F ? (char) c : '?'));
        return text.codePointCount(0, text.length()) > 200 ? b + "..." : b.toString();
    }
}
