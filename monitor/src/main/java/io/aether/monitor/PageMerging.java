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
     * Makes this process's memory mergeable and returns whether it is. A kernel without it (no KSM,
     * or older than 6.4: EINVAL) is no fault of the user's and is passed over in silence, since
     * every VM would say it again (the agent's start-up log says whether the host runs KSM); any
     * other refusal is said in one line on {@code err}. Either way the process runs unmerged.
     */
    public static boolean enable(String command, PrintStream err) {
        try {
            Libc.setMemoryMerge(true);
            return true;
        } catch (NativeCallException e) {
            if (e.errno() != Errno.EINVAL) {
                err.println(command + ": page merging unavailable (" + e.getMessage() + "): running unmerged");
            }
            return false;
        }
    }
}
