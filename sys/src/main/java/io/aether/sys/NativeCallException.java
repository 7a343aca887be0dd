package io.aether.sys;

/**
 * A host system call failed. The message names the call and the errno, for example
 * {@code KVM_CREATE_VM failed: EACCES (Permission denied)}.
 */
public class NativeCallException extends RuntimeException {

    private final String call;
    private final int errno;

    public NativeCallException(String call, int errno) {
        super(call + " failed: " + Errno.name(errno) + " (" + Errno.describe(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    /** The call that failed, as named in the message ({@code open /dev/kvm}, {@code KVM_RUN}). */
    public String call() {
        return call;
    }

    /** The errno the call set. */
    public int errno() {
        return errno;
    }
}
