package io.aether.vmm;

import io.aether.kvm.VcpuExit;
import java.util.Locale;

/** Why a vCPU left the guest, as metrics count it: one per kind of {@link VcpuExit}. */
enum ExitReason {
    IO_IN, IO_OUT, MMIO_READ, MMIO_WRITE, HLT, SHUTDOWN, INTERNAL_ERROR, FAIL_ENTRY, SYSTEM_EVENT, DEBUG, HYPERCALL, ARM_NISV, INTERRUPTED,
    UNSUPPORTED;

    static ExitReason of(VcpuExit exit) {
        return switch (exit) {
            case VcpuExit.IoIn e -> IO_IN;
            case VcpuExit.IoOut e -> IO_OUT;
            case VcpuExit.MmioRead e -> MMIO_READ;
            case VcpuExit.MmioWrite e -> MMIO_WRITE;
            case VcpuExit.Hlt e -> HLT;
            case VcpuExit.Shutdown e -> SHUTDOWN;
            case VcpuExit.InternalError e -> INTERNAL_ERROR;
            case VcpuExit.FailEntry e -> FAIL_ENTRY;
            case VcpuExit.SystemEvent e -> SYSTEM_EVENT;
            case VcpuExit.Debug e -> DEBUG;
            case VcpuExit.Hypercall e -> HYPERCALL;
            case VcpuExit.ArmNisv e -> ARM_NISV;
            case VcpuExit.Interrupted e -> INTERRUPTED;
            case VcpuExit.Unsupported e -> UNSUPPORTED;
        };
    }

    /** The name metrics use: {@code io_out}. */
    String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
