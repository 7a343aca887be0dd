package io.aether.monitor;

import io.aether.sys.Errno;
import io.aether.sys.Libc;
import io.aether.sys.NativeCallException;
import java.io.PrintStream;

/**
 * A monitor's own memory offered to the kernel's same-page merging (KSM): every monitor runs the
 * same JVM, class-data archive (mapped at the same address), classes and warm-up, so many of its
 * private pages are byte-identical to every other monitor's, and where the host runs KSM
 * ({@code /sys/kernel/mm/ksm/run}) they are shared. The guest's memory never is
 * ({@code MappedGuestMemory} advises it unmergeable). What stays possible: a monitor's heap
 * buffers that hold guest data (the console ring, a virtqueue's copies) may be merged with an
 * equal page of another monitor; {@link #OFF_OPTION} turns merging off for those who will not
 * have that.
 */
public final class PageMerging {

    /** The command-line option of {@code vm monitor} and {@code vm run} (and of {@code aether node}, for its monitors). */
    public static final String OFF_OPTION = "--no-page-merging";

    private PageMerging() {
    }

    /**
     * Makes this process's memory mergeable. Where the kernel refuses (no KSM, older than 6.4,
     * EPERM) says so in one line on {@code err} and returns false: the process runs unmerged.
     */
    public static boolean enable(String command, PrintStream err) {
        try {
            Libc.setMemoryMerge(true);
            return true;
        } catch (NativeCallException e) {
            String why = e.errno() == Errno.EINVAL ? "this kernel has no KSM or predates Linux 6.4" : e.getMessage();
            err.println(command + ": page merging unavailable (" + why + "): running unmerged");
            return false;
        }
    }
}
