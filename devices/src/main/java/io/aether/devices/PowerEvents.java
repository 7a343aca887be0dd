package io.aether.devices;

/**
 * What the guest asks of the machine's power: the ACPI sleep/reset registers and the i8042's
 * reset line call it. Called on a vCPU thread while the device handles the access: an
 * implementation records the request and returns (it stops the VM from elsewhere).
 */
public interface PowerEvents {

    /** The guest entered S5 (soft off): end the VM. */
    void powerOff();

    /** The guest asked for a reset (reboot). */
    void reset();

    /** Ignores both requests, for devices created before their wiring is known. */
    PowerEvents NONE = new PowerEvents() {
        @Override
        public void powerOff() {
        }

        @Override
        public void reset() {
        }
    };
}
