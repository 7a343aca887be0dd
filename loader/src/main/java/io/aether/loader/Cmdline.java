package io.aether.loader;

import io.aether.memory.GuestMemory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** The kernel command line, written NUL-terminated where the platform wants it. */
final class Cmdline {

    static final String SOURCE = "command line";
    /** What Linux accepts when no setup header says otherwise: COMMAND_LINE_SIZE (2048) minus the NUL. */
    static final long DEFAULT_MAX = 2047;
    static final String DEFAULT_MAX_SOURCE = "Linux's COMMAND_LINE_SIZE";

    private Cmdline() {
    }

    /**
     * Checks and writes {@code cmdline} with its NUL at {@code address}; returns its length.
     *
     * @param max the most bytes the kernel takes, without the NUL (the header's cmdline_size)
     * @param maxSource where {@code max} comes from, named in the refusal: a kernel's header is the
     *     kernel file's word, and a user with a long command line must know which file limits it
     * @param capacity the room at {@code address}, NUL included
     */
    static int write(GuestMemory memory, long address, String cmdline, long max, String maxSource, long capacity) throws LoadException {
        byte[] bytes = cmdline.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) throw new LoadException(SOURCE, "contains a NUL character at byte " + i);
        }
        if (bytes.length > max) {
            throw new LoadException(SOURCE, bytes.length + " bytes is longer than the kernel accepts (" + max + " bytes, " + maxSource + ")");
        }
        if (bytes.length > capacity - 1) {
            throw new LoadException(SOURCE, bytes.length + " bytes is longer than the platform's room for it (" + (capacity - 1) + " bytes)");
        }
        memory.write(address, Arrays.copyOf(bytes, bytes.length + 1));
        return bytes.length;
    }
}
