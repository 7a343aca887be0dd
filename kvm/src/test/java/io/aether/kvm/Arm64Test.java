package io.aether.kvm;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The arm64 ABI values against independent derivations: ioctl numbers from the {@code _IOC}
 * formula of include/uapi/asm-generic/ioctl.h computed here, struct sizes and offsets and other
 * numbers as the Linux uapi headers write them (literals, with the header named).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class Arm64Test {

    // include/uapi/asm-generic/ioctl.h: nr bits 0..7, type 8..15, size 16..29, dir 30..31.
    static final int IOC_WRITE = 1;
    static final int IOC_READ = 2;
    private static final int KVMIO = 0xAE;

    static long ioc(int dir, int nr, long size) {
        return (long) dir << 30 | size << 16 | KVMIO << 8 | nr;
    }

    @Test
    void ioctlNumbersFollowTheGenericEncoding() {
        // include/uapi/linux/kvm.h: _IOW(KVMIO, 0xab/0xac, struct kvm_one_reg), sizeof = 16 (__u64 id, __u64 addr)
        assertEquals(ioc(IOC_WRITE, 0xAB, 16), Arm64.KVM_GET_ONE_REG);
        assertEquals(ioc(IOC_WRITE, 0xAC, 16), Arm64.KVM_SET_ONE_REG);
        // _IOW(KVMIO, 0xae, struct kvm_vcpu_init) and _IOR(KVMIO, 0xaf, ...), sizeof = 32 (__u32 target, __u32 features[7])
        assertEquals(ioc(IOC_WRITE, 0xAE, 32), Arm64.KVM_ARM_VCPU_INIT);
        assertEquals(ioc(IOC_READ, 0xAF, 32), Arm64.KVM_ARM_PREFERRED_TARGET);
        // _IOWR(KVMIO, 0xe0, struct kvm_create_device), sizeof = 12 (__u32 type, fd, flags)
        assertEquals(ioc(IOC_READ | IOC_WRITE, 0xE0, 12), Arm64.KVM_CREATE_DEVICE);
        // _IOW(KVMIO, 0xe1/0xe3, struct kvm_device_attr), sizeof = 24 (__u32 flags, group; __u64 attr, addr)
        assertEquals(ioc(IOC_WRITE, 0xE1, 24), Arm64.KVM_SET_DEVICE_ATTR);
        assertEquals(ioc(IOC_WRITE, 0xE3, 24), Arm64.KVM_HAS_DEVICE_ATTR);
        // _IOW(KVMIO, 0x9b, struct kvm_guest_debug); arm64's is __u32 control, pad + 4 x __u64[16] = 8 + 512 = 520
        assertEquals(ioc(IOC_WRITE, 0x9B, 520), Arm64.KVM_SET_GUEST_DEBUG);
        // _IOW(KVMIO, 0x61, struct kvm_irq_level), sizeof = 8: the one KVM_IRQ_LINE of every architecture
        assertEquals(ioc(IOC_WRITE, 0x61, 8), Ioctls.KVM_IRQ_LINE);
        // And as measured on the emulated arm64 host (notes): KVM_ARM_VCPU_INIT 0x4020aeae, KVM_ARM_PREFERRED_TARGET 0x8020aeaf.
        assertEquals(0x4020_AEAEL, Arm64.KVM_ARM_VCPU_INIT);
        assertEquals(0x8020_AEAFL, Arm64.KVM_ARM_PREFERRED_TARGET);
    }

    @Test
    void structLayoutsHaveTheHeadersSizesAndOffsets() {
        assertEquals(32, Arm64.VCPU_INIT.byteSize());
        assertEquals(4, Arm64.VCPU_INIT.byteOffset(groupElement("features")));
        assertEquals(16, Arm64.ONE_REG.byteSize());
        assertEquals(8, Arm64.ONE_REG.byteOffset(groupElement("addr")));
        assertEquals(12, Arm64.CREATE_DEVICE.byteSize());
        assertEquals(4, Arm64.CREATE_DEVICE.byteOffset(groupElement("fd")));
        assertEquals(24, Arm64.DEVICE_ATTR.byteSize());
        assertEquals(8, Arm64.DEVICE_ATTR.byteOffset(groupElement("attr")));
        assertEquals(16, Arm64.DEVICE_ATTR.byteOffset(groupElement("addr")));
        assertEquals(8, Arm64.IRQ_LEVEL.byteSize());
        assertEquals(520, Arm64.GUEST_DEBUG.byteSize());
        assertEquals(8 + 3 * 128, Arm64.GUEST_DEBUG.byteOffset(groupElement("dbg_wvr")));
        // struct kvm_run: debug.arch.hsr at 32, hsr_high at 36, far at 40; arm_nisv.esr_iss at 32, fault_ipa at 40.
        assertEquals(4, Arm64.DEBUG_EXIT.byteOffset(groupElement("hsr_high")));
        assertEquals(8, Arm64.DEBUG_EXIT.byteOffset(groupElement("far")));
        assertEquals(8, Arm64.NISV_EXIT.byteOffset(groupElement("fault_ipa")));
    }

    @Test
    void coreRegisterIdsIndexStructKvmRegsInWords() {
        // KVM_REG_ARM64 0x6000000000000000 | KVM_REG_SIZE_U64 0x0030000000000000 | KVM_REG_ARM_CORE (0x0010 << 16)
        // | offsetof(struct kvm_regs, field) / 4. user_pt_regs: regs[31] at 0, sp at 248, pc at 256, pstate at 264;
        // then sp_el1 at 272, elr_el1 at 280, spsr[0] at 288.
        assertEquals(0x6030_0000_0010_0000L, Arm64.x(0));
        assertEquals(0x6030_0000_0010_0002L, Arm64.x(1)); // 8 / 4
        assertEquals(0x6030_0000_0010_003CL, Arm64.x(30)); // 240 / 4 = 60
        assertEquals(0x6030_0000_0010_003EL, Arm64.coreRegister(Arm64.REGS_SP_EL0)); // 248 / 4 = 62
        assertEquals(0x6030_0000_0010_0040L, Arm64.PC); // 256 / 4 = 64
        assertEquals(0x6030_0000_0010_0042L, Arm64.PSTATE); // 264 / 4 = 66
        assertEquals(0x6030_0000_0010_0044L, Arm64.SP_EL1); // 272 / 4 = 68
        assertEquals(0x6030_0000_0010_0046L, Arm64.coreRegister(Arm64.REGS_ELR_EL1)); // 280 / 4 = 70
        assertEquals(0x6030_0000_0010_0048L, Arm64.coreRegister(Arm64.REGS_SPSR_EL1)); // 288 / 4 = 72
        assertThrows(IllegalArgumentException.class, () -> Arm64.x(31));
        assertThrows(IllegalArgumentException.class, () -> Arm64.coreRegister(4));
        assertThrows(IllegalArgumentException.class, () -> Arm64.coreRegister(296));
    }

    @Test
    void systemRegisterIdsPackTheEncoding() {
        // KVM_REG_ARM64_SYSREG (0x0013 << 16) | Op0 << 14 | Op1 << 11 | CRn << 7 | CRm << 3 | Op2.
        // MPIDR_EL1 = S3_0_C0_C0_5: 0xC000 | 5 = 0xC005
        assertEquals(0x6030_0000_0013_C005L, Arm64.MPIDR_EL1);
        // CNTVCT_EL0 = S3_3_C14_C0_2: 0xC000 | 3 << 11 = 0x1800 | 14 << 7 = 0x700 | 2 = 0xDF02
        assertEquals(0x6030_0000_0013_DF02L, Arm64.systemRegister(3, 3, 14, 0, 2));
        assertThrows(IllegalArgumentException.class, () -> Arm64.systemRegister(4, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Arm64.systemRegister(3, 0, 16, 0, 0));
    }

    @Test
    void irqLineNamesSpisAndPpisByInterruptId() {
        // irq_type 1 << 24 | interrupt id 32 + 16 = 48 (0x30)
        assertEquals(0x0100_0030, Arm64.spi(16));
        assertEquals(0x0100_0020, Arm64.spi(0));
        assertEquals(0x0100_03FB, Arm64.spi(987)); // interrupt id 1019, the last SPI
        // irq_type 2 << 24 | vcpu_index 0 | interrupt id 16 + 11 = 27 (0x1B): vCPU 0's virtual timer
        assertEquals(0x0200_001B, Arm64.ppi(0, 11));
        // vCPU 300 = 0x12C: vcpu2_index 1 << 28, vcpu_index 0x2C << 16; PPI 14 = interrupt id 30 (0x1E)
        assertEquals(0x122C_001E, Arm64.ppi(300, 14));
        assertThrows(IllegalArgumentException.class, () -> Arm64.spi(988));
        assertThrows(IllegalArgumentException.class, () -> Arm64.spi(-1));
        assertThrows(IllegalArgumentException.class, () -> Arm64.ppi(0, 16));
        assertThrows(IllegalArgumentException.class, () -> Arm64.ppi(4096, 0));
    }

    @Test
    void numbersAreTheUapiHeadersOnes() {
        // arch/arm64/include/uapi/asm/kvm.h
        assertEquals(0, Arm64.VCPU_FEATURE_POWER_OFF); // KVM_ARM_VCPU_POWER_OFF
        assertEquals(2, Arm64.VCPU_FEATURE_PSCI_0_2); // KVM_ARM_VCPU_PSCI_0_2
        assertEquals(0, Arm64.VGIC_GRP_ADDR); // KVM_DEV_ARM_VGIC_GRP_ADDR
        assertEquals(3, Arm64.VGIC_GRP_NR_IRQS); // KVM_DEV_ARM_VGIC_GRP_NR_IRQS
        assertEquals(4, Arm64.VGIC_GRP_CTRL); // KVM_DEV_ARM_VGIC_GRP_CTRL
        assertEquals(0, Arm64.VGIC_CTRL_INIT); // KVM_DEV_ARM_VGIC_CTRL_INIT
        assertEquals(2, Arm64.VGIC_V3_ADDR_TYPE_DIST); // KVM_VGIC_V3_ADDR_TYPE_DIST
        assertEquals(3, Arm64.VGIC_V3_ADDR_TYPE_REDIST); // KVM_VGIC_V3_ADDR_TYPE_REDIST
        assertEquals(1, Arm64.IRQ_TYPE_SPI); // KVM_ARM_IRQ_TYPE_SPI
        assertEquals(2, Arm64.IRQ_TYPE_PPI); // KVM_ARM_IRQ_TYPE_PPI
        // include/uapi/linux/kvm.h
        assertEquals(7, Arm64.DEV_TYPE_ARM_VGIC_V3); // enum kvm_device_type: KVM_DEV_TYPE_ARM_VGIC_V3
        assertEquals(3, Arm64.EXIT_HYPERCALL); // KVM_EXIT_HYPERCALL
        assertEquals(4, Arm64.EXIT_DEBUG); // KVM_EXIT_DEBUG
        assertEquals(28, Arm64.EXIT_ARM_NISV); // KVM_EXIT_ARM_NISV
        assertEquals(1, Arm64.GUESTDBG_ENABLE); // KVM_GUESTDBG_ENABLE
        assertEquals(2, Arm64.GUESTDBG_SINGLESTEP); // KVM_GUESTDBG_SINGLESTEP
        assertEquals(0x10000, Arm64.GUESTDBG_USE_SW_BP); // KVM_GUESTDBG_USE_SW_BP (1 << 16)
        assertEquals(0x20000, Arm64.GUESTDBG_USE_HW); // KVM_GUESTDBG_USE_HW (1 << 17)
        assertEquals(1, VcpuExit.SystemEvent.SHUTDOWN); // KVM_SYSTEM_EVENT_SHUTDOWN
        assertEquals(2, VcpuExit.SystemEvent.RESET); // KVM_SYSTEM_EVENT_RESET
        assertEquals(3, VcpuExit.SystemEvent.CRASH); // KVM_SYSTEM_EVENT_CRASH
        assertEquals(4, VcpuExit.SystemEvent.WAKEUP); // KVM_SYSTEM_EVENT_WAKEUP
        assertEquals(5, VcpuExit.SystemEvent.SUSPEND); // KVM_SYSTEM_EVENT_SUSPEND
        assertEquals("SYSTEM_EVENT type=suspend", new VcpuExit.SystemEvent(5, new long[0]).describe());
        assertEquals(23, Capability.SET_GUEST_DEBUG.number); // KVM_CAP_SET_GUEST_DEBUG
        assertEquals(70, Capability.ONE_REG.number); // KVM_CAP_ONE_REG
        assertEquals(89, Capability.DEVICE_CTRL.number); // KVM_CAP_DEVICE_CTRL
        assertEquals(102, Capability.ARM_PSCI_0_2.number); // KVM_CAP_ARM_PSCI_0_2
        assertEquals(165, Capability.ARM_VM_IPA_SIZE.number); // KVM_CAP_ARM_VM_IPA_SIZE
        assertEquals(177, Capability.ARM_NISV_TO_USER.number); // KVM_CAP_ARM_NISV_TO_USER
        // PSTATE M[3:0] = 0b0101 (EL1h) | F (6) 0x40 | I (7) 0x80 | A (8) 0x100 | D (9) 0x200 = 0x3C5,
        // what KVM_ARM_VCPU_INIT leaves (measured on the emulated arm64 host).
        assertEquals(0x3C5, Arm64.PSTATE_EL1H_DAIF_MASKED);
    }

    @Test
    void registersAre64BitArm64IdsWithTheirNames() {
        assertEquals(new Arm64Register("x4", 0x6030_0000_0010_0008L), Arm64Register.x(4)); // 32 / 4 = 8
        assertEquals(0x6030_0000_0010_0040L, Arm64Register.PC.id());
        assertEquals(0x6030_0000_0010_0042L, Arm64Register.PSTATE.id());
        // CNTVCT_EL0 = S3_3_C14_C0_2, as in systemRegisterIdsPackTheEncoding
        assertEquals(new Arm64Register("CNTVCT_EL0", 0x6030_0000_0013_DF02L), Arm64Register.system("CNTVCT_EL0", 3, 3, 14, 0, 2));
        assertEquals("MPIDR_EL1", Arm64Register.MPIDR_EL1.toString());
        // A 128-bit id (KVM_REG_SIZE_U128 = 0x0040 << 48: an FP/SIMD register) would make KVM copy 16 bytes into 8.
        var wide = assertThrows(IllegalArgumentException.class, () -> new Arm64Register("v0", 0x6040_0000_0010_0054L));
        assertEquals("register v0: id 0x6040000000100054 is not a 64-bit arm64 register id", wide.getMessage());
        // A 32-bit id (KVM_REG_SIZE_U32 = 0x0020 << 48), and an x86 id (KVM_REG_X86 = 0x2000 << 48).
        assertThrows(IllegalArgumentException.class, () -> new Arm64Register("fpsr", 0x6020_0000_0010_00D4L));
        assertThrows(IllegalArgumentException.class, () -> new Arm64Register("x86", 0x2030_0000_0000_0000L));
        assertThrows(IllegalArgumentException.class, () -> new Arm64Register(" ", Arm64.PC));
    }

    @Test
    void gicFramesMustBe64KiBAligned() {
        // Checked before any ioctl: -1 is no VM file descriptor, so reaching KVM would fail differently.
        var e = assertThrows(IllegalArgumentException.class, () -> VgicV3.create(-1, 0x0800_1000L, 0x080A_0000L));
        assertEquals("GICv3 distributor base 0x8001000 is not 64 KiB-aligned", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> VgicV3.create(-1, 0x0800_0000L, 0x080A_8000L));
        assertThrows(IllegalArgumentException.class, () -> VgicV3.create(-1, -0x1_0000L, 0x080A_0000L));
    }

    /**
     * arm64's exits through the same decoder as x86_64's, from a {@code struct kvm_run} laid out
     * by include/uapi/linux/kvm.h: exit_reason at 8, the union at 32; mmio = {phys_addr 32,
     * data[8] 40, len 48, is_write 52}; system_event = {type 32, ndata 36, data[] 40}.
     */
    @Test
    void arm64MmioAndSystemEventExitsDecode() {
        MemorySegment run = MemorySegment.ofArray(new long[512]);
        run.set(ValueLayout.JAVA_INT, 8, 6); // KVM_EXIT_MMIO
        run.set(ValueLayout.JAVA_LONG, 32, 0x0900_0000L);
        run.set(ValueLayout.JAVA_BYTE, 40, (byte) 'A');
        run.set(ValueLayout.JAVA_INT, 48, 1);
        run.set(ValueLayout.JAVA_BYTE, 52, (byte) 1);
        var write = assertInstanceOf(VcpuExit.MmioWrite.class, Vcpu.decode(run));
        assertEquals(0x0900_0000L, write.address());
        assertArrayEquals(new byte[] {'A'}, write.data());
        assertEquals("MMIO_WRITE addr=0x9000000 len=1 data=41", write.describe());

        run.set(ValueLayout.JAVA_LONG, 32, 0x0900_0004L);
        run.set(ValueLayout.JAVA_INT, 48, 4);
        run.set(ValueLayout.JAVA_BYTE, 52, (byte) 0);
        var read = assertInstanceOf(VcpuExit.MmioRead.class, Vcpu.decode(run));
        assertEquals(4, read.data().length);
        assertEquals("MMIO_READ  addr=0x9000004 len=4", read.describe());

        // PSCI SYSTEM_RESET2 as Linux 6.x reports it: type RESET, ndata 1, data[0] = KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2 (1 << 0).
        run.set(ValueLayout.JAVA_INT, 8, 24); // KVM_EXIT_SYSTEM_EVENT
        run.set(ValueLayout.JAVA_INT, 32, 2);
        run.set(ValueLayout.JAVA_INT, 36, 1);
        run.set(ValueLayout.JAVA_LONG, 40, 1L);
        var reset = assertInstanceOf(VcpuExit.SystemEvent.class, Vcpu.decode(run));
        assertEquals(VcpuExit.SystemEvent.RESET, reset.type());
        assertArrayEquals(new long[] {1L}, reset.data());
        assertEquals("SYSTEM_EVENT type=reset", reset.describe());

        run.set(ValueLayout.JAVA_INT, 32, 1); // PSCI SYSTEM_OFF: SHUTDOWN
        run.set(ValueLayout.JAVA_INT, 36, 0);
        var off = assertInstanceOf(VcpuExit.SystemEvent.class, Vcpu.decode(run));
        assertEquals(VcpuExit.SystemEvent.SHUTDOWN, off.type());
        assertEquals(0, off.data().length);
    }

    /**
     * KVM_EXIT_HYPERCALL (3) from a filtered SMCCC call, include/uapi/linux/kvm.h: hypercall =
     * {nr 32, args[6] 40..87, ret 88, flags 96}; arm64's flags: KVM_HYPERCALL_EXIT_SMC (1 << 0),
     * KVM_HYPERCALL_EXIT_16BIT (1 << 1).
     */
    @Test
    void arm64HypercallExitsDecodeTheFunctionIdAndConduit() {
        MemorySegment run = MemorySegment.ofArray(new long[512]);
        run.set(ValueLayout.JAVA_INT, 8, 3);
        run.set(ValueLayout.JAVA_LONG, 32, 0x8600_0A37L);
        run.set(ValueLayout.JAVA_LONG, 88, 0xDEADL); // ret: nothing the decoder reads
        var hvc = assertInstanceOf(VcpuExit.Hypercall.class, Vcpu.decode(run));
        assertEquals(new VcpuExit.Hypercall(0x8600_0A37L, 0), hvc);
        assertEquals("HYPERCALL function=0x86000a37 (HVC)", hvc.describe());
        run.set(ValueLayout.JAVA_LONG, 96, 1L);
        assertEquals(new VcpuExit.Hypercall(0x8600_0A37L, 1), Vcpu.decode(run));
        assertEquals("HYPERCALL function=0x86000a37 (SMC)", Vcpu.decode(run).describe());
    }

    /**
     * struct kvm_smccc_filter (arch/arm64/include/uapi/asm/kvm.h): __u32 base, __u32 nr_functions,
     * __u8 action, __u8 pad[15]: 24 bytes; KVM_ARM_VM_SMCCC_CTRL 0, KVM_ARM_VM_SMCCC_FILTER 0,
     * enum kvm_smccc_filter_action {HANDLE, DENY, FWD_TO_USER}.
     */
    @Test
    void theSmcccFilterIsTheUapiStruct() {
        assertEquals(24, Arm64.SMCCC_FILTER.byteSize());
        assertEquals(8, Arm64.SMCCC_FILTER.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("action")));
        assertEquals(0, Arm64.VM_SMCCC_CTRL);
        assertEquals(0, Arm64.VM_SMCCC_FILTER);
        assertEquals(2, Arm64.SMCCC_FILTER_FWD_TO_USER);
        assertThrows(IllegalArgumentException.class, () -> new Vm(-1, 0).armForwardSmccc(0x8600_0A37, 0));
    }

    /**
     * KVM_EXIT_DEBUG (4) and KVM_EXIT_ARM_NISV (28) from include/uapi/linux/kvm.h: debug.arch on
     * arm64 = {hsr 32, hsr_high 36, far 40}; arm_nisv = {esr_iss 32, fault_ipa 40}.
     */
    @Test
    void arm64DebugAndNisvExitsDecode() {
        MemorySegment run = MemorySegment.ofArray(new long[512]);
        run.set(ValueLayout.JAVA_INT, 8, 4);
        run.set(ValueLayout.JAVA_INT, 32, 0xCB00_0022);
        run.set(ValueLayout.JAVA_INT, 36, 0x1);
        run.set(ValueLayout.JAVA_LONG, 40, 0x4008_0000L);
        var debug = assertInstanceOf(VcpuExit.Debug.class, Vcpu.decode(run));
        // hsr_high is ESR_EL2 bits 63:32 (ISS2).
        assertEquals(0x1_CB00_0022L, debug.arch()[0]);
        assertEquals(0x4008_0000L, debug.arch()[1]);
        assertEquals("DEBUG arch=0x1cb000022 0x40080000 0x0 0x0", debug.describe());

        run.set(ValueLayout.JAVA_INT, 8, 28);
        run.set(ValueLayout.JAVA_LONG, 32, 0x46L);
        run.set(ValueLayout.JAVA_LONG, 40, 0x0A00_0100L);
        assertEquals(new VcpuExit.ArmNisv(0x46, 0x0A00_0100L), Vcpu.decode(run));
    }

    @Test
    void mpStatesAreTheUapiHeadersOnes() {
        assertEquals(0, Vcpu.MP_STATE_RUNNABLE); // KVM_MP_STATE_RUNNABLE
        assertEquals(5, Vcpu.MP_STATE_STOPPED); // KVM_MP_STATE_STOPPED
    }
}
