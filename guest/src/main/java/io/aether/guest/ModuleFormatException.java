package io.aether.guest;

import java.io.IOException;

/** A kernel module file that cannot be read as one; the message names the file and the fault. */
public final class ModuleFormatException extends IOException {

    public ModuleFormatException(String message) {
        super(message);
    }
}
