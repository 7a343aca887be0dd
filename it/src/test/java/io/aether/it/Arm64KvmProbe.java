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
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;

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
 *
 * <p>Then a second VM shows KVM's stage-2 map doing the monitor's bidding: RAM in a slot with
 * dirty logging and a read-only slot ({@link #ROM}) holding {@link #ROM_WORD}. Its guest
 * ({@link #STAGE2_CODE}) writes chosen RAM pages between two checkpoints, at each of which this
 * program prints the pages {@code KVM_GET_DIRTY_LOG} reports, and stores into the read-only slot,
 * which arm64 KVM turns into an MMIO exit (the store's syndrome is valid) without touching the
 * memory.
 */
public final class Arm64KvmProbe {

    static final long MMIO = 0x0900_0000L;
    static final String MESSAGE = "Hello from EL1\n";
    static final int READ_VALUE = 0x1234_5678;
    static final int SPI = 5;
    static final long RAM_SIZE = 4L << 20;
    static final String DONE = "probe: done";

    /** The read-only slot of the second VM, right after its RAM, and the word it holds. */
    static final long ROM = Layout.RAM_BASE + RAM_SIZE;
    static final long ROM_SIZE = 64 << 10;
    static final int ROM_WORD = 0xC0DE_F00D;
    /** What the second guest stores into RAM pages and into the read-only slot. */
    static final int STORED = 0xD1E7;

    /**
     * The second guest, assembled by hand like {@link #CODE} (checked with {@code llvm-mc
     * -triple=aarch64 -filetype=obj} and {@code llvm-objdump -d}). RAM pages are numbered from
     * the RAM base, 4 KiB each.
     */
    static final int[] STAGE2_CODE = {
        0xD2A1_2009, // 0x00  movz x9, #0x0900, lsl #16   the MMIO window
        0xD2A8_080B, // 0x04  movz x11, #0x4040, lsl #16  x11 = the read-only slot
        0xB940_016D, // 0x08  ldr  w13, [x11]             read it
        0xB900_012D, // 0x0c  str  w13, [x9]              MMIO write: what it read
        0xD2A8_000E, // 0x10  movz x14, #0x4000, lsl #16
        0xF292_000E, // 0x14  movk x14, #0x9000           page 9
        0xB940_01CF, // 0x18  ldr  w15, [x14]             read only: page 9 stays clean
        0x529A_3CEC, // 0x1c  movz w12, #0xd1e7           STORED
        0xD2A8_000E, // 0x20  movz x14, #0x4000, lsl #16
        0xF286_000E, // 0x24  movk x14, #0x3000
        0xB900_01CC, // 0x28  str  w12, [x14]             page 3
        0xD2A8_018E, // 0x2c  movz x14, #0x400c, lsl #16
        0xF290_000E, // 0x30  movk x14, #0x8000
        0xB900_11CC, // 0x34  str  w12, [x14, #16]        page 200
        0xD2A8_07EE, // 0x38  movz x14, #0x403f, lsl #16
        0xF29E_000E, // 0x3c  movk x14, #0xf000
        0xB90F_FDCC, // 0x40  str  w12, [x14, #0xffc]     page 1023: RAM's last word
        0xB900_053F, // 0x44  str  wzr, [x9, #4]          checkpoint 1
        0xD2A8_018E, // 0x48  movz x14, #0x400c, lsl #16
        0xF290_000E, // 0x4c  movk x14, #0x8000
        0xB900_01CC, // 0x50  str  w12, [x14]             page 200 again
        0xD2A8_000E, // 0x54  movz x14, #0x4000, lsl #16
        0xF28E_000E, // 0x58  movk x14, #0x7000
        0xB908_01CC, // 0x5c  str  w12, [x14, #0x800]     page 7
        0xB900_093F, // 0x60  str  wzr, [x9, #8]          checkpoint 2
        0xB900_016C, // 0x64  str  w12, [x11]             into the read-only slot
        0xB940_016D, // 0x68  ldr  w13, [x11]             read it again
        0xB900_0D2D, // 0x6c  str  w13, [x9, #12]         MMIO write: what it read now
        0x5280_0100, // 0x70  movz w0, #0x8
        0x72B0_8000, // 0x74  movk w0, #0x8400, lsl #16   PSCI SYSTEM_OFF
        0xD400_0002, // 0x78  hvc  #0
        0x1400_0000, // 0x7c  b    .
    };
    static final long CHECKPOINT_1 = MMIO + 4;
    static final long CHECKPOINT_2 = MMIO + 8;

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
        stage2();
        System.out.println(DONE);
    }

    /** The second VM: a dirty-logged RAM slot and a read-only slot, both under the guest's stores. */
    private static void stage2() {
        RegionSpec romSpec = new RegionSpec(ROM, ROM_SIZE, true);
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(Layout.RAM_BASE, RAM_SIZE), romSpec));
             Kvm kvm = Kvm.open();
             Vm vm = kvm.createVm()) {
            MemoryRegion ram = memory.regions().get(0);
            MemoryRegion rom = memory.regions().get(1);
            for (int i = 0; i < STAGE2_CODE.length; i++) {
                memory.writeInt(Layout.RAM_BASE + 4L * i, STAGE2_CODE[i]);
            }
            // The monitor may not write read-only guest memory through GuestMemory: it fills the ROM as a loader does.
            rom.host().set(ValueLayout.JAVA_INT_UNALIGNED, 0, ROM_WORD);
            vm.setUserMemoryRegion(0, Vm.MEM_LOG_DIRTY_PAGES, ram.guestBase(), ram.host());
            vm.setUserMemoryRegion(1, Vm.MEM_READONLY, rom.guestBase(), rom.host());
            long pages = RAM_SIZE / RegionSpec.PAGE_SIZE;
            System.out.println("probe: stage2 dirty before=" + dirtyPages(vm.dirtyLog(0, pages)));
            try (Vcpu vcpu = vm.createVcpu(0)) {
                vcpu.armInit(vm.armPreferredTarget(), false);
                vcpu.setRegister(Arm64Register.PC, Layout.RAM_BASE);
                for (int exits = 1; ; exits++) {
                    if (exits > MAX_EXITS) throw new IllegalStateException("no PSCI power-off within " + MAX_EXITS + " exits");
                    VcpuExit exit = vcpu.run();
                    if (exit instanceof VcpuExit.Interrupted) continue;
                    System.out.println("probe: stage2 exit: " + exit.describe());
                    if (exit instanceof VcpuExit.MmioWrite write
                            && (write.address() == CHECKPOINT_1 || write.address() == CHECKPOINT_2)) {
                        System.out.println("probe: stage2 dirty at 0x" + Long.toHexString(write.address()) + "="
                                + dirtyPages(vm.dirtyLog(0, pages)));
                    } else if (exit instanceof VcpuExit.SystemEvent) {
                        break;
                    } else if (!(exit instanceof VcpuExit.MmioWrite)) {
                        throw new IllegalStateException("unexpected exit: " + exit.describe());
                    }
                }
            }
            System.out.printf(Locale.ROOT, "probe: stage2 rom after=0x%x page3=0x%x page7=0x%x%n",
                    memory.readInt(ROM), memory.readInt(Layout.RAM_BASE + 0x3000), memory.readInt(Layout.RAM_BASE + 0x7800));
        }
    }

    /** The page numbers set in a {@code KVM_GET_DIRTY_LOG} bitmap, ascending, comma-separated ("none" for none). */
    private static String dirtyPages(long[] bitmap) {
        StringJoiner pages = new StringJoiner(",");
        pages.setEmptyValue("none");
        for (int word = 0; word < bitmap.length; word++) {
            for (long bits = bitmap[word]; bits != 0; bits &= bits - 1) {
                pages.add(Integer.toString(word * 64 + Long.numberOfTrailingZeros(bits)));
            }
        }
        return pages.toString();
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
