package io.aether.vmm;

import io.aether.kvm.VcpuExit;
import java.io.PrintStream;

/**
 * What the monitor does with one vCPU exit: a free function over the decoded exit and the two
 * buses, so tests drive it with made-up exits and no {@code /dev/kvm}. The switch has no
 * default: a new exit kind cannot be forgotten.
 */
final class ExitHandler {

    /** What the vCPU loop does next. */
    sealed interface Action {
        /** Run the guest again (after completing the exit's data, if any). */
        record Resume() implements Action {
        }

        /** Leave the run loop and check the run state (pause or stop requests). */
        record CheckState() implements Action {
        }

        /** Answer the guest's call to the monitor in its vCPU's registers ({@link Hypercalls}), then run it again. */
        record AnswerHypercall(VcpuExit.Hypercall call) implements Action {
        }

        /** Stop the VM. */
        record Stop(StopReason reason) implements Action {
        }
    }

    static final Action RESUME = new Action.Resume();
    static final Action CHECK_STATE = new Action.CheckState();

    private ExitHandler() {
    }

    /**
     * @param haltStops whether HLT ends the VM (the stub guest runs without an in-kernel
     *     interrupt controller, so its final HLT reaches the monitor)
     * @param decoding how the trace line reads the exit's architecture-specific payload
     * @param trace where {@code --trace-exits} prints, or null
     */
    static Action handle(int vcpu, VcpuExit exit, Bus io, Bus mmio, boolean haltStops, ExitDecoding decoding, PrintStream trace) {
        if (trace != null) trace.println("[vcpu " + vcpu + "] " + decoding.describe(exit));
        return switch (exit) {
            case VcpuExit.IoOut out -> {
                byte[] unit = new byte[out.size()];
                for (int i = 0; i < out.count(); i++) {
                    System.arraycopy(out.data(), i * out.size(), unit, 0, out.size());
                    io.write(out.port(), unit);
                }
                yield RESUME;
            }
            case VcpuExit.IoIn in -> {
                byte[] unit = new byte[in.size()];
                for (int i = 0; i < in.count(); i++) {
                    io.read(in.port(), unit);
                    System.arraycopy(unit, 0, in.data(), i * in.size(), in.size());
                }
                yield RESUME;
            }
            case VcpuExit.MmioWrite w -> {
                mmio.write(w.address(), w.data());
                yield RESUME;
            }
            case VcpuExit.MmioRead r -> {
                mmio.read(r.address(), r.data());
                yield RESUME;
            }
            case VcpuExit.Hlt h -> haltStops ? new Action.Stop(new StopReason.Halted()) : RESUME;
            case VcpuExit.Shutdown s -> new Action.Stop(new StopReason.GuestCrash(vcpu, "triple fault"));
            case VcpuExit.InternalError e -> new Action.Stop(new StopReason.GuestCrash(vcpu, "KVM " + e.describe()));
            case VcpuExit.FailEntry f -> new Action.Stop(new StopReason.GuestCrash(vcpu, "VM entry failed, " + f.describe()));
            case VcpuExit.SystemEvent e -> switch (e.type()) {
                case VcpuExit.SystemEvent.SHUTDOWN -> new Action.Stop(new StopReason.PowerOff());
                case VcpuExit.SystemEvent.RESET -> new Action.Stop(new StopReason.Reboot());
                default -> new Action.Stop(new StopReason.GuestCrash(vcpu, e.describe()));
            };
            // A single step or breakpoint asked for by --debug: the trace line above is its whole point.
            case VcpuExit.Debug d -> RESUME;
            case VcpuExit.Hypercall h -> new Action.AnswerHypercall(h);
            case VcpuExit.ArmNisv n -> new Action.Stop(new StopReason.GuestCrash(vcpu, "an access KVM cannot decode, " + decoding.describe(n)));
            case VcpuExit.Interrupted i -> CHECK_STATE;
            case VcpuExit.Unsupported u -> new Action.Stop(new StopReason.GuestCrash(vcpu, u.describe()));
        };
    }
}
