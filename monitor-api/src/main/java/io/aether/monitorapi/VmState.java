package io.aether.monitorapi;

import java.util.Locale;

/** Where a VM is in its life, as its monitor reports it. */
public enum VmState {
    /** Built, not started yet. */
    CREATED,
    RUNNING,
    /** Holding still: vCPUs, device threads and console input, until resumed. */
    PAUSED,
    /** Ended as asked or as the guest chose: powered off, halted, rebooted, stopped by a request. */
    STOPPED,
    /** Ended by a fault: the guest crashed or the monitor failed; the reason says which. */
    FAILED;

    /** The name on the wire: {@code running}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The state called {@code id}. */
    static VmState parse(String id) {
        for (VmState s : values()) {
            if (s.id().equals(id)) return s;
        }
        throw new IllegalArgumentException("state: unknown state '" + ControlCodec.printable(id) + "'");
    }
}
