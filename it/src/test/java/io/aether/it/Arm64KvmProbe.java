package io.aether.it;

import io.aether.arch.aarch64.Layout;
import io.aether.kvm.Arm64Register;
import io.aether.kvm.Kvm;
import io.aether.kvm.Vcpu;
import io.aether.kvm.VcpuExit;
import io.aether.kvm.VgicV3;
import io.aether.kvm.Vm;
import io.aether.memory.GuestMemory;
import io.aether.memory.MemoryRegion;
import io.aether.memory.RegionSpec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * Runs inside the arm64 test host (L1) on the arm64 Java runtime: drives arm64 KVM through the
 * project's own {@code kvm} and {@code memory} modules and prints what it sees, one fact per
 * line, for {@link Arm64HostRunsKvmTest} to check.
 *
 * <p>The VM: 4 MiB of RAM at the arm64 layout's base, a GICv3, a boot vCPU initialised with
 * PSCI 0.2 and a secondary one powered off. The guest ({@link #CODE}) writes {@link #MESSAGE}
 * byte by byte to the MMIO window at {@link #MMIO}, reads a word there (this program answers
 * {@link #READ_VALUE}), writes it back plus one, reads the GIC distributor's pending bits of
 * SPIs 0..31 (KVM answers that itself; this program raised {@link #SPI}) and writes them out,
 * then calls PSCI SYSTEM_OFF through HVC.
 */
public final class Arm64KvmProbe {

    static final long MMIO = 0x0900_0000L;
    static final String MESSAGE = "Hello from EL1\n";
    static final int READ_VALUE = 0x1234_5678;
    static final int SPI = 5;
    static final long RAM_SIZE = 4L << 20;
    static final String DONE = "probe: done";

    /**
     * The guest, AArch64 machine code assembled by hand (checked once with {@code llvm-mc
     * -triple=aarch64 -show-encoding} and {@code llvm-objdump -d}). Offsets from the RAM base;
     * {@link #MESSAGE} follows at 0x40, NUL-terminated.
     */
    static final int[] CODE = {
        0xD2A1_2009, // 0x00       movz x9, #0x0900, lsl #16   x9 = 0x0900_0000, the MMIO window
        0x1000_01EA, // 0x04       adr  x10, #+0x3c            x10 = the message at 0x40
        0x3840_154B, // 0x08 next: ldrb w11, [x10], #1         the next byte, x10 += 1
        0x3400_006B, // 0x0c       cbz  w11, #+0xc             the NUL ends the message: to 0x18
        0x3900_012B, // 0x10       strb w11, [x9]              MMIO write, 1 byte: an exit per character
        0x17FF_FFFD, // 0x14       b    #-0xc                  back to next
        0xB940_052C, // 0x18       ldr  w12, [x9, #4]          MMIO read, 4 bytes: the monitor answers
        0x1100_058C, // 0x1c       add  w12, w12, #1
        0xB900_092C, // 0x20       str  w12, [x9, #8]          MMIO write, 4 bytes: what was read, plus one
        0xD2A1_000D, // 0x24       movz x13, #0x0800, lsl #16  x13 = 0x0800_0000, the GIC distributor
        0xB942_05AE, // 0x28       ldr  w14, [x13, #0x204]     GICD_ISPENDR1: pending bits of interrupt ids 32..63
        0xB900_0D2E, // 0x2c       str  w14, [x9, #12]         MMIO write, 4 bytes: those bits
        0x5280_0100, // 0x30       movz w0, #0x8
        0x72B0_8000, // 0x34       movk w0, #0x8400, lsl #16   w0 = 0x8400_0008, PSCI SYSTEM_OFF
        0xD400_0002, // 0x38       hvc  #0                     KVM's PSCI: KVM_EXIT_SYSTEM_EVENT
        0x1400_0000, // 0x3c       b    .                      never reached
    };
    static final long MESSAGE_OFFSET = 0x40;
    /** Where the vCPU stops: after the HVC, at the branch-to-self. */
    static final long FINAL_PC_OFFSET = 0x3C;
    private static final int MAX_EXITS = 200;

    private Arm64KvmProbe() {
    }

    public static void main(String[] args) {
        long t0 = System.nanoTime();
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(Layout.RAM_BASE, RAM_SIZE)));
             Kvm kvm = Kvm.open();
             Vm vm = kvm.createVm()) {
            System.out.println("probe: arch=" + System.getProperty("os.arch") + " api=" + kvm.apiVersion()
                    + " ipa_limit_bits=" + kvm.armIpaLimitBits());
            MemoryRegion ram = memory.regions().getFirst();
            vm.setUserMemoryRegion(0, 0, ram.guestBase(), ram.host());
            for (int i = 0; i < CODE.length; i++) {
                memory.writeInt(Layout.RAM_BASE + 4L * i, CODE[i]);
            }
            byte[] message = MESSAGE.getBytes(StandardCharsets.US_ASCII);
            memory.write(Layout.RAM_BASE + MESSAGE_OFFSET, message);
            memory.writeByte(Layout.RAM_BASE + MESSAGE_OFFSET + message.length, (byte) 0);

            int target = vm.armPreferredTarget();
            try (Vcpu boot = vm.createVcpu(0); Vcpu secondary = vm.createVcpu(1)) {
                boot.armInit(target, false);
                secondary.armInit(target, true);
                System.out.printf(Locale.ROOT, "probe: target=%d pstate_after_init=0x%x%n", target,
                        boot.register(Arm64Register.PSTATE));
                // Before the run: the guest's PSCI SYSTEM_OFF stops every vCPU, powered off at the start or not.
                System.out.printf(Locale.ROOT, "probe: vcpu0 mpidr=0x%x mp_state=%d; vcpu1 mpidr=0x%x mp_state=%d%n",
                        boot.register(Arm64Register.MPIDR_EL1), boot.mpState(),
                        secondary.register(Arm64Register.MPIDR_EL1), secondary.mpState());
                try (VgicV3 gic = vm.createVgicV3(Layout.GIC_DISTRIBUTOR_BASE, Layout.GIC_REDISTRIBUTOR_BASE)) {
                    gic.initialize();
                    vm.armSpiLine(SPI, true);
                    boot.setRegister(Arm64Register.PC, Layout.RAM_BASE);
                    System.out.printf(Locale.ROOT, "probe: pc=0x%x%n", boot.register(Arm64Register.PC));
                    long t1 = System.nanoTime();
                    int exits = run(boot);
                    long t2 = System.nanoTime();
                    System.out.printf(Locale.ROOT, "probe: after pc=0x%x x12=0x%x%n", boot.register(Arm64Register.PC),
                            boot.register(Arm64Register.x(12)));
                    System.out.printf(Locale.ROOT, "probe: timing setup=%.0f ms run=%.0f ms exits=%d%n",
                            (t1 - t0) / 1e6, (t2 - t1) / 1e6, exits);
                }
            }
        }
        System.out.println(DONE);
    }

    /** Runs the boot vCPU to its PSCI power-off, printing each exit; returns how many there were. */
    private static int run(Vcpu vcpu) {
        for (int exits = 1; exits <= MAX_EXITS; exits++) {
            VcpuExit exit = vcpu.run();
            System.out.println("probe: exit " + exits + ": " + exit.describe());
            switch (exit) {
                case VcpuExit.MmioRead read -> {
                    for (int i = 0; i < read.data().length; i++) {
                        read.data()[i] = (byte) (READ_VALUE >>> 8 * i); // little-endian
                    }
                    vcpu.complete(read);
                }
                case VcpuExit.MmioWrite _ -> { }
                case VcpuExit.Interrupted _ -> { }
                case VcpuExit.SystemEvent _ -> {
                    return exits;
                }
                default -> throw new IllegalStateException("unexpected exit: " + exit.describe());
            }
        }
        throw new IllegalStateException("no PSCI power-off within " + MAX_EXITS + " exits");
    }
}
