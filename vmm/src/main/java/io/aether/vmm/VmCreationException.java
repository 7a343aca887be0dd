package io.aether.vmm;

/** The host refused something while a VM was being built (a kernel that does not load, a disk that does not open). */
public final class VmCreationException extends RuntimeException {
    public VmCreationException(String message, Throwable cause) {
        super(message, cause);
    }
}
