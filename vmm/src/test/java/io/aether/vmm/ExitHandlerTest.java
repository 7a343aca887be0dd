package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.common.BusDevice;
import io.aether.kvm.VcpuExit;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Exit handling with made-up exits: no /dev/kvm needed. */
class ExitHandlerTest {

    /** Records accesses; reads answer the offset's low byte. */
    static final class Recorder implements BusDevice {
        final List<String> log = new ArrayList<>();

        @Override
        public void read(long offset, byte[] data) {
            log.add("r" + offset + ":" + data.length);
            java.util.Arrays.fill(data, (byte) offset);
        }

        @Override
        public void write(long offset, byte[] data) {
            log.add("w" + offset + ":" + new String(data));
        }
    }

    private final Bus io = new Bus("port I/O");
    private final Bus mmio = new Bus("MMIO");
    private final Recorder uart = new Recorder();
    private final Recorder virtio = new Recorder();

    ExitHandlerTest() {
        io.register(0x3F8, 8, "serial", uart);
        mmio.register(0xD000_0000L, 0x200, "virtio0", virtio);
    }

    @Test
    void portWritesReachTheDeviceAtItsOffsetOneUnitAtATime() {
        var action = ExitHandler.handle(0, new VcpuExit.IoOut(0x3F8, 1, 3, "abc".getBytes()), io, mmio, false, VcpuExit::describe, null);
        assertInstanceOf(ExitHandler.Action.Resume.class, action);
        assertEquals(List.of("w0:a", "w0:b", "w0:c"), uart.log);
    }

    @Test
    void portReadsAreFilledByTheDeviceAndEmptyPortsReadAllOnes() {
        var in = new VcpuExit.IoIn(0x3FD, 1, 1, new byte[1]);
        ExitHandler.handle(0, in, io, mmio, false, VcpuExit::describe, null);
        assertEquals(5, in.data()[0]);
        var nobody = new VcpuExit.IoIn(0x70, 2, 1, new byte[2]);
        ExitHandler.handle(0, nobody, io, mmio, false, VcpuExit::describe, null);
        assertArrayEquals(new byte[] {-1, -1}, nobody.data());
        assertEquals(1, io.unclaimedAccesses());
    }

    @Test
    void mmioAccessesAreRoutedAndAnAccessStraddlingTheEndIsNot() {
        ExitHandler.handle(0, new VcpuExit.MmioWrite(0xD000_0070L, new byte[] {'x', 0, 0, 0}), io, mmio, false, VcpuExit::describe, null);
        assertEquals("w112:x\0\0\0", virtio.log.getFirst());
        var straddling = new VcpuExit.MmioRead(0xD000_01FEL, new byte[4]);
        ExitHandler.handle(0, straddling, io, mmio, false, VcpuExit::describe, null);
        assertArrayEquals(new byte[] {-1, -1, -1, -1}, straddling.data());
        assertEquals(1, virtio.log.size());
    }

    @Test
    void crashesStopTheVmWithANonZeroStatusAndAMessage() {
        var triple = (ExitHandler.Action.Stop) ExitHandler.handle(1, new VcpuExit.Shutdown(), io, mmio, false, VcpuExit::describe, null);
        assertEquals("guest crashed on vCPU 1: triple fault", triple.reason().message());
        assertTrue(triple.reason().exitStatus() != 0);
        var emu = (ExitHandler.Action.Stop) ExitHandler.handle(0, new VcpuExit.InternalError(1, new long[] {0xf}), io, mmio, false, VcpuExit::describe, null);
        assertTrue(emu.reason().message().contains("emulation failure"), emu.reason().message());
        var entry = (ExitHandler.Action.Stop) ExitHandler.handle(0, new VcpuExit.FailEntry(0x80000021L, 0), io, mmio, false, VcpuExit::describe, null);
        assertTrue(entry.reason().exitStatus() != 0);
        var odd = (ExitHandler.Action.Stop) ExitHandler.handle(0, new VcpuExit.Unsupported(77), io, mmio, false, VcpuExit::describe, null);
        assertTrue(odd.reason().message().contains("77"));
    }

    @Test
    void haltEndsOnlyAStubGuestAndKicksCheckTheRunState() {
        assertInstanceOf(ExitHandler.Action.Resume.class, ExitHandler.handle(0, new VcpuExit.Hlt(), io, mmio, false, VcpuExit::describe, null));
        var stop = (ExitHandler.Action.Stop) ExitHandler.handle(0, new VcpuExit.Hlt(), io, mmio, true, VcpuExit::describe, null);
        assertEquals(0, stop.reason().exitStatus());
        assertInstanceOf(ExitHandler.Action.CheckState.class, ExitHandler.handle(0, new VcpuExit.Interrupted(), io, mmio, false, VcpuExit::describe, null));
        var off = (ExitHandler.Action.Stop) ExitHandler.handle(0, new VcpuExit.SystemEvent(1, new long[0]), io, mmio, false, VcpuExit::describe, null);
        assertInstanceOf(StopReason.PowerOff.class, off.reason());
    }

    @Test
    void traceExitsPrintsEveryExitDecoded() {
        var sink = new ByteArrayOutputStream();
        var trace = new PrintStream(sink, true);
        ExitHandler.handle(0, new VcpuExit.IoOut(0x3F8, 1, 1, new byte[] {'A'}), io, mmio, false, VcpuExit::describe, trace);
        ExitHandler.handle(0, new VcpuExit.Hlt(), io, mmio, true, VcpuExit::describe, trace);
        assertEquals("[vcpu 0] IO_OUT port=0x03f8 size=1 count=1 data=41\n[vcpu 0] HLT\n", sink.toString());
    }

    @Test
    void overlappingRangesAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> io.register(0x3FC, 2, "other", uart));
        assertTrue(e.getMessage().contains("overlaps serial"));
    }
}
