package io.aether.kvm;

import java.util.HexFormat;

/**
 * Why {@code KVM_RUN} returned, decoded from {@code struct kvm_run} one to one with KVM's exit
 * reasons that matter on x86_64 and arm64 (the rest arrive as {@link Unsupported} with their
 * code). The header and the payloads decoded here (MMIO, system events, entry failures,
 * internal errors) have the same layout on both; the payloads that differ are KVM_EXIT_DEBUG's
 * {@code arch} part and the x86-only I/O port exit, which arm64 never produces.
 *
 * <p>The records are plain values so that exit handling can be tested with made-up exits and
 * no {@code /dev/kvm}. For {@link IoIn} and {@link MmioRead} the handler fills {@code data};
 * {@link Vcpu#complete} hands it back to the guest.
 */
public sealed interface VcpuExit {

    /** One line for {@code --trace-exits}. */
    String describe();

    /** The guest read {@code count} units of {@code size} bytes from an I/O port. */
    record IoIn(int port, int size, int count, byte[] data) implements VcpuExit {
        public String describe() {
            return "IO_IN  port=0x%04x size=%d count=%d".formatted(port, size, count);
        }
    }

    /** The guest wrote {@code count} units of {@code size} bytes to an I/O port. */
    record IoOut(int port, int size, int count, byte[] data) implements VcpuExit {
        public String describe() {
            return "IO_OUT port=0x%04x size=%d count=%d data=%s".formatted(port, size, count, hex(data));
        }
    }

    /** The guest read {@code data.length} bytes at a guest-physical address with no RAM behind it. */
    record MmioRead(long address, byte[] data) implements VcpuExit {
        public String describe() {
            return "MMIO_READ  addr=0x%x len=%d".formatted(address, data.length);
        }
    }

    /** The guest wrote {@code data} at a guest-physical address with no RAM behind it. */
    record MmioWrite(long address, byte[] data) implements VcpuExit {
        public String describe() {
            return "MMIO_WRITE addr=0x%x len=%d data=%s".formatted(address, data.length, hex(data));
        }
    }

    /** The vCPU executed HLT and the in-kernel LAPIC is not handling it. */
    record Hlt() implements VcpuExit {
        public String describe() {
            return "HLT";
        }
    }

    /** A triple fault (or a shutdown the guest cannot recover from). */
    record Shutdown() implements VcpuExit {
        public String describe() {
            return "SHUTDOWN (triple fault)";
        }
    }

    /** The hardware refused to enter the guest. */
    record FailEntry(long hardwareReason, int cpu) implements VcpuExit {
        public String describe() {
            return "FAIL_ENTRY hardware_entry_failure_reason=0x%x cpu=%d".formatted(hardwareReason, cpu);
        }
    }

    /** KVM could not continue: emulation failure, a double fault in delivery, and the like. */
    record InternalError(int suberror, long[] data) implements VcpuExit {
        public String describe() {
            String what = switch (suberror) {
                case 1 -> "emulation failure";
                case 2 -> "simultaneous exceptions";
                case 3 -> "delivery event failure";
                case 4 -> "unexpected exit reason";
                default -> "suberror " + suberror;
            };
            StringBuilder sb = new StringBuilder("INTERNAL_ERROR ").append(what);
            for (long d : data) sb.append(" 0x").append(Long.toHexString(d));
            return sb.toString();
        }
    }

    /** The guest asked for a platform event KVM handles itself (PSCI-style shutdown, reset, crash). */
    record SystemEvent(int type, long[] data) implements VcpuExit {
        public static final int SHUTDOWN = 1;
        public static final int RESET = 2;
        public static final int CRASH = 3;
        /** arm64: a vCPU the monitor had suspended saw a wakeup event. */
        public static final int WAKEUP = 4;
        /** arm64: the guest called PSCI SYSTEM_SUSPEND, which KVM passes on only when asked to. */
        public static final int SUSPEND = 5;

        public String describe() {
            return "SYSTEM_EVENT type=" + switch (type) {
                case SHUTDOWN -> "shutdown";
                case RESET -> "reset";
                case CRASH -> "crash";
                case WAKEUP -> "wakeup";
                case SUSPEND -> "suspend";
                default -> Integer.toString(type);
            };
        }
    }

    /**
     * A debug event the monitor asked for ({@code KVM_SET_GUEST_DEBUG}: a single step or a
     * software breakpoint). {@code arch} is {@code kvm_run.debug.arch} as four little-endian
     * 64-bit words, which each architecture reads its own way: on arm64 word 0 is ESR_EL2
     * ({@code hsr} and {@code hsr_high}) and word 1 is FAR_EL2; on x86_64 word 0's low half is
     * the exception vector and word 1 is RIP.
     */
    record Debug(long[] arch) implements VcpuExit {
        public Debug {
            if (arch.length != 4) throw new IllegalArgumentException("kvm_run.debug.arch is 4 words, not " + arch.length);
            arch = arch.clone();
        }

        public String describe() {
            return "DEBUG arch=0x%x 0x%x 0x%x 0x%x".formatted(arch[0], arch[1], arch[2], arch[3]);
        }
    }

    /**
     * arm64: a data abort on an address with no memory slot whose syndrome KVM cannot turn into
     * an MMIO exit (ISV clear: a load or store pair, a write-back form). {@code esrIss} holds
     * ESR_EL2's ISS and the class and IL bits KVM keeps; {@code faultIpa} the guest-physical address.
     */
    record ArmNisv(long esrIss, long faultIpa) implements VcpuExit {
        public String describe() {
            return "ARM_NISV esr_iss=0x%x fault_ipa=0x%x".formatted(esrIss, faultIpa);
        }
    }

    /**
     * arm64: an SMCCC call (HVC or SMC) whose function id the monitor asked KVM to pass on
     * ({@link Vm#armForwardSmccc}). The arguments are in the vCPU's x1..x17, the answer goes in
     * x0..x3; after an HVC the guest resumes at the next instruction. {@code flags}: bit 0 the
     * call was an SMC, bit 1 a 16-bit instruction.
     */
    record Hypercall(long functionId, long flags) implements VcpuExit {
        public static final long FLAG_SMC = 1;

        public String describe() {
            return "HYPERCALL function=0x%x%s".formatted(functionId, (flags & FLAG_SMC) != 0 ? " (SMC)" : " (HVC)");
        }
    }

    /** {@code KVM_RUN} was interrupted by a signal or {@code immediate_exit} (a kick). */
    record Interrupted() implements VcpuExit {
        public String describe() {
            return "INTERRUPTED";
        }
    }

    /** An exit reason the monitor does not handle. */
    record Unsupported(int reason) implements VcpuExit {
        public String describe() {
            return "UNSUPPORTED exit reason " + reason;
        }
    }

    private static String hex(byte[] data) {
        return data.length <= 16 ? HexFormat.of().formatHex(data) : HexFormat.of().formatHex(data, 0, 16) + "…";
    }
}
