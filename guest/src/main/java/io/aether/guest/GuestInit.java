package io.aether.guest;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The {@code /init} of the guest initramfs that {@code aether guest fetch} builds, and the
 * two things a host can rely on from it: the line it prints when the guest is up, and the
 * kernel command-line word that makes it power off at once.
 *
 * <p>The script mounts proc, sysfs, devtmpfs and devpts, loads the virtio drivers (each
 * after its dependencies), prints {@link #READY_MARKER} on a line of its own, and then
 * either powers off ({@link #POWEROFF_PARAMETER} on the command line: the benchmark mode)
 * or runs a shell on the console with job control ({@code setsid cttyhack sh}); leaving
 * that shell powers the guest off, so the monitor exits with status 0.
 */
public final class GuestInit {

    /** Printed on a line of its own once the drivers are loaded. */
    public static final String READY_MARKER = "AETHER-GUEST-READY";

    /** Put on the kernel command line to power off right after {@link #READY_MARKER}. */
    public static final String POWEROFF_PARAMETER = "aether.init=poweroff";

    /** Where the script expects the module files. */
    static final String MODULE_DIR = "/lib/modules";

    private static final Pattern MODULE_FILE = Pattern.compile("[A-Za-z0-9_-]{1,64}\\.ko");

    private GuestInit() {
    }

    /** The script, loading {@code moduleFiles} (file names in {@link #MODULE_DIR}) in order. */
    static String script(List<String> moduleFiles) {
        for (String f : moduleFiles) {
            if (!MODULE_FILE.matcher(f).matches()) {
                throw new IllegalArgumentException("bad module file name for the init script: '" + f + "'");
            }
        }
        return """
                #!/bin/sh
                # /init of the Aether guest initramfs, written by `aether guest fetch`.
                export PATH=/sbin:/bin:/usr/sbin:/usr/bin
                mount -t proc proc /proc
                mount -t sysfs sysfs /sys
                mount -t devtmpfs devtmpfs /dev
                mkdir -p /dev/pts
                mount -t devpts devpts /dev/pts
                # Virtio drivers, each after the modules it depends on (from their .modinfo).
                for ko in %s; do
                    insmod %s/$ko || echo "aether-init: cannot load $ko" >&2
                done
                echo %s
                case " $(cat /proc/cmdline) " in
                *" %s "*)
                    poweroff -f
                    ;;
                esac
                echo "aether-init: shell on the console; 'exit' powers the guest off"
                setsid cttyhack sh
                sync
                poweroff -f
                """.formatted(String.join(" ", moduleFiles), MODULE_DIR, READY_MARKER, POWEROFF_PARAMETER);
    }
}
