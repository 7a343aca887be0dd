package io.aether.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * ESR_EL2 values composed by hand from the Arm ARM's field positions (EC 31:26, IL 25, ISS 24:0
 * and each class's ISS layout); the arithmetic is in the comments, the values are literals.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class EsrTest {

    @Test
    void aWordStoreToMmioIsADataAbortWithItsRegister() {
        // EC 0x24 << 26 = 0x9000_0000; IL = 0x0200_0000; ISV (24) = 0x0100_0000; SAS 2 << 22 = 0x0080_0000;
        // SRT 1 << 16 = 0x0001_0000; WnR (6) = 0x40; DFSC 0x07 (translation fault, level 3)
        // 0x9000_0000 + 0x0200_0000 + 0x0100_0000 + 0x0080_0000 + 0x0001_0000 + 0x40 + 0x07 = 0x9381_0047
        Esr e = Esr.decode(0x9381_0047L);
        assertEquals(new Esr.DataAbort(0x9381_0047L, true, true, 2, false, 1, false, false, false, false, false, false, true, 0x07), e);
        assertEquals(0x24, e.exceptionClass());
        assertTrue(e.instruction32());
        assertEquals(0x181_0047, e.iss());
        assertEquals("ESR_EL2=0x93810047 EC=0x24 DABT_LOW (data abort from a lower EL) IL=32: ISV=1 SAS=word SSE=0 SRT=x1 SF=0 AR=0"
                + " WnR=write FnV=0 EA=0 CM=0 S1PTW=0 DFSC=0x07 (translation fault, level 3)", e.toString());
    }

    @Test
    void everyDataAbortFieldSitsAtItsBit() {
        // EC 0x25 << 26 = 0x9400_0000 (same EL); IL 0x0200_0000; ISV 0x0100_0000; SAS 3 << 22 = 0x00C0_0000;
        // SSE (21) 0x0020_0000; SRT 31 << 16 = 0x001F_0000; SF (15) 0x8000; AR (14) 0x4000; FnV (10) 0x400;
        // EA (9) 0x200; CM (8) 0x100; S1PTW (7) 0x80; WnR clear; DFSC 0x21 (alignment fault)
        // sum: 0x97FF_C7A1
        assertEquals(new Esr.DataAbort(0x97FF_C7A1L, false, true, 3, true, 31, true, true, true, true, true, true, false, 0x21),
                Esr.decode(0x97FF_C7A1L));
        assertEquals("ESR_EL2=0x97ffc7a1 EC=0x25 DABT_CUR (data abort from EL2) IL=32: ISV=1 SAS=doubleword SSE=1 SRT=xzr SF=1 AR=1"
                + " WnR=read FnV=1 EA=1 CM=1 S1PTW=1 DFSC=0x21 (alignment fault)", Esr.decode(0x97FF_C7A1L).toString());
        // Without ISV only the fault is described: 0x9000_0000 + IL 0x0200_0000 + DFSC 0x0F (permission fault, level 3)
        assertEquals("ESR_EL2=0x9200000f EC=0x24 DABT_LOW (data abort from a lower EL) IL=32: ISV=0 WnR=read FnV=0 EA=0 CM=0 S1PTW=0"
                + " DFSC=0x0f (permission fault, level 3)", Esr.decode(0x9200_000FL).toString());
    }

    @Test
    void anInstructionAbortNamesItsFault() {
        // EC 0x20 << 26 = 0x8000_0000; IL 0x0200_0000; FnV (10) 0x400; IFSC 0x05 (translation fault, level 1) = 0x8200_0405
        assertEquals(new Esr.InstructionAbort(0x8200_0405L, true, true, false, false, 0x05), Esr.decode(0x8200_0405L));
        assertEquals("ESR_EL2=0x82000405 EC=0x20 IABT_LOW (instruction abort from a lower EL) IL=32: FnV=1 EA=0 S1PTW=0"
                + " IFSC=0x05 (translation fault, level 1)", Esr.decode(0x8200_0405L).toString());
        // EC 0x21 << 26 = 0x8400_0000; EA (9) 0x200; S1PTW (7) 0x80; IFSC 0x10 = 0x8400_0290 (IL clear)
        assertEquals(new Esr.InstructionAbort(0x8400_0290L, false, false, true, true, 0x10), Esr.decode(0x8400_0290L));
    }

    @Test
    void hypervisorAndSecureMonitorCallsCarryTheirImmediate() {
        // HVC #0: EC 0x16 << 26 = 0x5800_0000; IL 0x0200_0000 = 0x5A00_0000
        assertEquals(new Esr.Hvc(0x5A00_0000L, 0), Esr.decode(0x5A00_0000L));
        assertEquals("ESR_EL2=0x5a000000 EC=0x16 HVC64 (hypervisor call) IL=32: imm16=0x0", Esr.decode(0x5A00_0000L).toString());
        // HVC #0xbeef = 0x5A00_BEEF
        assertEquals(new Esr.Hvc(0x5A00_BEEFL, 0xBEEF), Esr.decode(0x5A00_BEEFL));
        // SMC #1: EC 0x17 << 26 = 0x5C00_0000; IL 0x0200_0000; imm16 1 = 0x5E00_0001
        assertEquals(new Esr.Smc(0x5E00_0001L, 1), Esr.decode(0x5E00_0001L));
        assertEquals("ESR_EL2=0x5e000001 EC=0x17 SMC64 (secure monitor call) IL=32: imm16=0x1", Esr.decode(0x5E00_0001L).toString());
    }

    @Test
    void aTrappedSystemRegisterAccessNamesTheRegisterAndTheDirection() {
        // MRS x3, MPIDR_EL1 (op0 3, op1 0, CRn 0, CRm 0, op2 5): EC 0x18 << 26 = 0x6000_0000; IL 0x0200_0000;
        // Op0 3 << 20 = 0x30_0000; Op2 5 << 17 = 0xA_0000; Rt 3 << 5 = 0x60; Direction (read) 1 = 0x623A_0061
        assertEquals(new Esr.SystemRegisterAccess(0x623A_0061L, 3, 0, 0, 0, 5, 3, true), Esr.decode(0x623A_0061L));
        assertEquals("ESR_EL2=0x623a0061 EC=0x18 SYS64 (MSR, MRS or system instruction trapped) IL=32: MRS x3, S3_0_C0_C0_5",
                Esr.decode(0x623A_0061L).toString());
        // MSR CNTV_CTL_EL0 (op0 3, op1 3, CRn 14, CRm 3, op2 1), x5: 0x6200_0000 + 0x30_0000 + op2 1 << 17 = 0x2_0000
        // + op1 3 << 14 = 0xC000 + CRn 14 << 10 = 0x3800 + Rt 5 << 5 = 0xA0 + CRm 3 << 1 = 0x6 + write 0 = 0x6232_F8A6
        assertEquals(new Esr.SystemRegisterAccess(0x6232_F8A6L, 3, 3, 14, 3, 1, 5, false), Esr.decode(0x6232_F8A6L));
        assertEquals("ESR_EL2=0x6232f8a6 EC=0x18 SYS64 (MSR, MRS or system instruction trapped) IL=32: MSR S3_3_C14_C3_1, x5",
                Esr.decode(0x6232_F8A6L).toString());
    }

    @Test
    void debugExceptionsAreTold() {
        // BRK #1000: EC 0x3C << 26 = 0xF000_0000; IL 0x0200_0000; comment 0x3E8 = 0xF200_03E8
        assertEquals(new Esr.Brk(0xF200_03E8L, 1000), Esr.decode(0xF200_03E8L));
        assertEquals("ESR_EL2=0xf20003e8 EC=0x3c BRK64 (BRK instruction) IL=32: comment=0x3e8", Esr.decode(0xF200_03E8L).toString());
        // Software step from the guest: EC 0x32 << 26 = 0xC800_0000; IL 0x0200_0000; ISV 0x0100_0000; IFSC 0x22 = 0xCB00_0022
        assertEquals(new Esr.SoftwareStep(0xCB00_0022L, true, true, false, 0x22), Esr.decode(0xCB00_0022L));
        assertEquals("ESR_EL2=0xcb000022 EC=0x32 SOFTSTP_LOW (software step from a lower EL) IL=32: ISV=1 EX=0 IFSC=0x22 (debug exception)",
                Esr.decode(0xCB00_0022L).toString());
        // ... after a load-exclusive: EX (6) 0x40 = 0xCB00_0062
        assertEquals(new Esr.SoftwareStep(0xCB00_0062L, true, true, true, 0x22), Esr.decode(0xCB00_0062L));
        // Watchpoint on a write: EC 0x34 << 26 = 0xD000_0000; IL 0x0200_0000; WnR 0x40; DFSC 0x22 = 0xD200_0062
        assertEquals(new Esr.Watchpoint(0xD200_0062L, true, false, true, 0x22), Esr.decode(0xD200_0062L));
        assertEquals("ESR_EL2=0xd2000062 EC=0x34 WATCHPT_LOW (watchpoint from a lower EL) IL=32: CM=0 WnR=write DFSC=0x22 (debug exception)",
                Esr.decode(0xD200_0062L).toString());
        // Hardware breakpoint: EC 0x30 << 26 = 0xC000_0000; IL 0x0200_0000; IFSC 0x22 = 0xC200_0022
        assertEquals(new Esr.Breakpoint(0xC200_0022L, true, 0x22), Esr.decode(0xC200_0022L));
        // ... from EL2 itself: EC 0x31 << 26 = 0xC400_0000 + IL + 0x22 = 0xC600_0022
        assertEquals(new Esr.Breakpoint(0xC600_0022L, false, 0x22), Esr.decode(0xC600_0022L));
    }

    @Test
    void waitInstructionsAreTold() {
        // WFI: EC 0x01 << 26 = 0x0400_0000; IL 0x0200_0000; TI 0 = 0x0600_0000; WFE: TI 1 = 0x0600_0001
        assertEquals(new Esr.Wfx(0x0600_0000L, Esr.WfxKind.WFI, false, 0), Esr.decode(0x0600_0000L));
        assertEquals("ESR_EL2=0x6000000 EC=0x01 WFx (WFI/WFE trapped) IL=32: WFI", Esr.decode(0x0600_0000L).toString());
        assertEquals(new Esr.Wfx(0x0600_0001L, Esr.WfxKind.WFE, false, 0), Esr.decode(0x0600_0001L));
        // WFIT x7: TI 2; RV (2) 0x4; RN 7 << 5 = 0xE0: 0x0600_0000 + 0xE0 + 0x4 + 0x2 = 0x0600_00E6
        assertEquals(new Esr.Wfx(0x0600_00E6L, Esr.WfxKind.WFIT, true, 7), Esr.decode(0x0600_00E6L));
        assertEquals("ESR_EL2=0x60000e6 EC=0x01 WFx (WFI/WFE trapped) IL=32: WFIT x7", Esr.decode(0x0600_00E6L).toString());
    }

    @Test
    void otherClassesAreNamedWithTheirRawIss() {
        // EC 0 (unknown reason) with IL: 0x0200_0000
        assertEquals(new Esr.Other(0x0200_0000L), Esr.decode(0x0200_0000L));
        assertEquals("ESR_EL2=0x2000000 EC=0x00 UNKNOWN (unknown reason) IL=32: ISS=0x0", Esr.decode(0x0200_0000L).toString());
        // SVC #5 from AArch64 (EC 0x15 << 26 = 0x5400_0000) + IL + 5 = 0x5600_0005
        assertEquals("ESR_EL2=0x56000005 EC=0x15 SVC64 (SVC) IL=32: ISS=0x5", Esr.decode(0x5600_0005L).toString());
        // SError: EC 0x2F << 26 = 0xBC00_0000 + IL = 0xBE00_0000
        assertEquals("ESR_EL2=0xbe000000 EC=0x2f SERROR (SError interrupt) IL=32: ISS=0x0", Esr.decode(0xBE00_0000L).toString());
        // EC 0x3F is unallocated: 0x3F << 26 = 0xFC00_0000; a 16-bit instruction (IL clear); ISS 0x1FF_FFFF = 0xFDFF_FFFF
        Esr unallocated = Esr.decode(0xFDFF_FFFFL);
        assertInstanceOf(Esr.Other.class, unallocated);
        assertEquals("ESR_EL2=0xfdffffff EC=0x3f unallocated exception class 0x3f IL=16: ISS=0x1ffffff", unallocated.toString());
    }

    @Test
    void bitsAbove31DoNotChangeTheDecodingButAreShown() {
        // ISS2 (55:32) = 0xAB: the value printed in full, the fields from bits 31:0 as before.
        Esr e = Esr.decode(0xAB_5A00_0000L);
        assertEquals(new Esr.Hvc(0xAB_5A00_0000L, 0), e);
        assertEquals("ESR_EL2=0xab5a000000 EC=0x16 HVC64 (hypervisor call) IL=32: imm16=0x0", e.toString());
    }

    @Test
    void everyExceptionClassHasAName() {
        for (int ec = 0; ec < 64; ec++) {
            Esr e = Esr.decode((long) ec << 26);
            assertEquals(ec, e.exceptionClass());
            assertTrue(e.toString().startsWith("ESR_EL2=0x" + Long.toHexString((long) ec << 26) + " EC=0x%02x ".formatted(ec)), e.toString());
        }
        // The fault status codes by their levels: 0x04..0x07 translation, 0x0C..0x0F permission, 0x14..0x17 walk aborts.
        assertEquals("translation fault, level 0", Syndrome.faultStatusName(0x04));
        assertEquals("access flag fault, level 2", Syndrome.faultStatusName(0x0A));
        assertEquals("permission fault, level 1", Syndrome.faultStatusName(0x0D));
        assertEquals("address size fault, level 3", Syndrome.faultStatusName(0x03));
        assertEquals("synchronous external abort on a table walk, level 2", Syndrome.faultStatusName(0x16));
        assertEquals("fault status 0x3f", Syndrome.faultStatusName(0x3F));
    }
}
