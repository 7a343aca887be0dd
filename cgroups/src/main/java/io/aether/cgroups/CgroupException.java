package io.aether.cgroups;

import java.io.IOException;

/** A cgroup operation the kernel (or the layout) refused: one line naming the group or file and why. */
public class CgroupException extends IOException {

    public CgroupException(String message) {
        super(message);
    }

    public CgroupException(String message, Throwable cause) {
        super(message, cause);
    }
}
