package io.aether.vmm;

/** Why a VM stopped, and the exit status the monitor process reports for it. */
public sealed interface StopReason {

    /** The monitor's exit status for this stop. */
    int exitStatus();

    /** One line for the user. */
    String message();

    /** The guest powered off (ACPI S5 or the equivalent). */
    record PowerOff() implements StopReason {
        public int exitStatus() {
            return 0;
        }

        public String message() {
            return "guest powered off";
        }
    }

    /** The guest asked for a reset and the VM is configured to end rather than restart. */
    record Reboot() implements StopReason {
        public int exitStatus() {
            return 0;
        }

        public String message() {
            return "guest rebooted";
        }
    }

    /** The built-in stub guest halted with interrupts off: its work is done. */
    record Halted() implements StopReason {
        public int exitStatus() {
            return 0;
        }

        public String message() {
            return "guest halted";
        }
    }

    /** The guest crashed in a way KVM reports: triple fault, emulation failure, failed entry. */
    record GuestCrash(int vcpu, String what) implements StopReason {
        public int exitStatus() {
            return 3;
        }

        public String message() {
            return "guest crashed on vCPU " + vcpu + ": " + what;
        }
    }

    /** The monitor itself failed (a host call, a device backend). */
    record HostError(String what) implements StopReason {
        public int exitStatus() {
            return 4;
        }

        public String message() {
            return "monitor error: " + what;
        }
    }

    /** The user stopped the VM (SIGINT/SIGTERM, Ctrl-A x, an API call). */
    record Requested(String by) implements StopReason {
        public int exitStatus() {
            return 0;
        }

        public String message() {
            return "stopped by " + by;
        }
    }
}
