package io.aether.loader;

/**
 * A kernel, initrd or command line could not be loaded. The message is one line that names the
 * file (or "command line") and what is wrong with it, e.g.
 * {@code /boot/vmlinuz: not a bzImage: boot_flag at 0x1FE is 0x0000, expected 0xAA55}.
 */
public final class LoadException extends Exception {

    private final String source;

    public LoadException(String source, String problem) {
        super(source + ": " + problem);
        this.source = source;
    }

    public LoadException(String source, String problem, Throwable cause) {
        super(source + ": " + problem, cause);
        this.source = source;
    }

    /** The file (or "command line") the problem is in. */
    public String source() {
        return source;
    }
}
