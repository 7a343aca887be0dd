package io.aether.testhost;

import io.aether.guest.Initramfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The initramfs of the arm64 test host (L1) and its {@code /init}.
 *
 * <p>Layout: the static arm64 busybox (its applet links made by {@code /init}: the host cannot
 * run it to list them); the sysroot's {@code /usr} (the Java runtime at its Debian path, glibc
 * and the other libraries) and {@code /etc} (the runtime's configuration), with {@code /lib}
 * a link to {@code usr/lib}, where the dynamic loader is looked for; the program's classpath
 * in {@code /aether/lib}, its files in {@code /aether/files}. The {@code /init} mounts proc, sysfs, devtmpfs and a tmpfs, says
 * whether {@code /dev/kvm} is there and in which mode KVM started, runs the program with the
 * console as its stdin and stdout, prints {@code AETHER-ARM64-EXIT <status>} and powers off
 * (PSCI), which ends QEMU.
 *
 * @param files      the fetched arm64 pieces
 * @param program    what to run
 * @param jvmOptions options for the JVM in L1
 */
record Arm64HostImage(Arm64HostFiles files, Arm64Program program, String jvmOptions) {

    /** Printed by L1's init before the program: whether /dev/kvm exists, and KVM's start-up line. */
    static final String KVM = "AETHER-ARM64-KVM";
    /** Printed by L1's init, followed by a space, the program's exit status and L1's uptime. */
    static final String EXIT = "AETHER-ARM64-EXIT";
    static final Pattern EXIT_LINE = Pattern.compile(EXIT + " (\\d+)(?: .*)?");
    static final String CLASSPATH_DIR = "/aether/lib";

    /** The classpath as the program sees it inside L1: {@code /aether/lib/<n>-<name>}. */
    List<String> guestClasspath() {
        List<String> result = new ArrayList<>();
        for (int i = 0; i < program.classpath().size(); i++) {
            result.add(CLASSPATH_DIR + "/" + "%02d-%s".formatted(i, program.classpath().get(i).getFileName()));
        }
        return result;
    }

    /** The layout, ready to write. */
    Initramfs layout() throws IOException {
        Initramfs image = Initramfs.busybox(files.busybox(), List.of(), "aether");
        image.symlink("lib", "usr/lib");
        image.tree("usr", files.sysroot().resolve("usr"));
        image.tree("etc", files.sysroot().resolve("etc"));
        image.text("etc/passwd", 0644, "root:x:0:0:root:/root:/bin/sh\n");
        image.text("etc/group", 0644, "root:x:0:\n");
        List<String> guestClasspath = guestClasspath();
        for (int i = 0; i < guestClasspath.size(); i++) {
            Path entry = program.classpath().get(i);
            if (Files.isDirectory(entry)) {
                image.tree(guestClasspath.get(i), entry);
            } else {
                image.file(guestClasspath.get(i), 0644, entry);
            }
        }
        for (Path file : program.files()) {
            image.file(Arm64Program.FILES_DIR.substring(1) + "/" + file.getFileName(), 0644, file);
        }
        image.text("init", 0755, initScript());
        return image;
    }

    /** The command line that starts the program in L1 ({@code java} is on its PATH). */
    String javaCommand() {
        return "java" + (jvmOptions.isBlank() ? "" : " " + jvmOptions.strip())
                + " -cp " + Scenario.quote(String.join(":", guestClasspath())) + " " + program.mainClass()
                + program.arguments().stream().map(a -> " " + Scenario.quote(a)).collect(Collectors.joining());
    }

    /** L1's {@code /init}. */
    String initScript() {
        return """
                #!/bin/busybox sh
                # /init of Aether's arm64 test host (L1), written by io.aether.testhost.
                export JAVA_HOME=/%4$s
                export PATH=/bin:/sbin:/usr/bin:/usr/sbin:$JAVA_HOME/bin
                export HOME=/root
                # busybox links its applets to where /proc/self/exe says it is.
                busybox mount -t proc proc /proc
                busybox --install -s /bin
                mount -t sysfs sysfs /sys
                mount -t devtmpfs devtmpfs /dev
                mount -t tmpfs tmpfs /tmp
                started="$(dmesg | grep -m 1 -o 'kvm \\[[0-9]*\\]: .*initialized successfully')"
                if [ -c /dev/kvm ]; then echo "%1$s present: $started"; else echo "%1$s missing"; fi
                echo "AETHER-ARM64-L1 uptime=$(cut -d ' ' -f 1 /proc/uptime) kernel=$(uname -r)"
                # Kernel messages would land in the middle of the program's output.
                dmesg -n 1
                cd /aether
                %2$s
                status=$?
                echo
                echo "%3$s $status uptime=$(cut -d ' ' -f 1 /proc/uptime)"
                poweroff -f
                """.formatted(KVM, javaCommand(), EXIT, Arm64HostFiles.JAVA_HOME);
    }
}
