package io.aether.testhost;

import io.aether.guest.Initramfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The initramfs of the nested test host (L1) and its {@code /init}.
 *
 * <p>Layout: static busybox with its applet links; the L1 modules in {@code /lib/modules};
 * the Java runtime in {@code /opt/jdk} and the product's classpath in {@code /aether/lib}
 * (when the scenario runs Java); the host libraries those and QEMU need, at their host paths;
 * the guest in {@code /guest}; extra host files (QEMU and its firmware) at their host paths;
 * the scenario in {@code /scenario}. The {@code /init} mounts proc, sysfs, devtmpfs and devpts,
 * moves its own input and output from the kernel's console (ttyS1, L1's channel to the test
 * host) to ttyS0 (the scenario's console), starts a heartbeat on ttyS1, loads the modules, puts
 * ttyS0 in raw mode (so bytes pass unchanged between the test and the monitor), prints
 * {@link #READY}, runs the scenario on the console, prints {@code AETHER-L1-EXIT <status>} and
 * powers off.
 *
 * @param busybox      the static busybox binary
 * @param applets      its applet paths ({@code busybox --list-full})
 * @param modules      the modules to load, in order, with their parameters
 * @param jdk          the jlink'ed runtime, if the scenario runs Java
 * @param classpath    the product's jars and class directories (host paths)
 * @param jvmOptions   options for the JVM that runs {@code aether}
 * @param libraries    host libraries to copy at their paths (glibc, the loader, QEMU's libraries)
 * @param hostFiles    further host files to copy at their paths (QEMU, its firmware)
 * @param qemu         the QEMU binary among {@code hostFiles}, offered to the scenario as {@code $QEMU}
 * @param guestKernel  the L2 kernel
 * @param guestInitrd  the L2 initramfs
 * @param scenario     what to run
 */
record NestedImage(Path busybox, List<String> applets, List<ModuleLoad> modules, Optional<Path> jdk,
                   List<Path> classpath, String jvmOptions, Set<Path> libraries, Set<Path> hostFiles,
                   Optional<Path> qemu, Path guestKernel, Path guestInitrd, Scenario scenario) {

    /** Printed by L1's init just before the scenario starts. */
    static final String READY = "AETHER-L1-READY";
    /** Printed by L1's init, followed by a space and the scenario's exit status. */
    static final String EXIT = "AETHER-L1-EXIT";
    static final Pattern EXIT_LINE = Pattern.compile(EXIT + " (\\d+)");
    /** L1's first serial port: the scenario's console (QEMU's stdio). */
    static final String CONSOLE = "/dev/ttyS0";
    /** L1's second serial port: its kernel's console and its heartbeat ({@link L1Channel}). */
    static final String HOST_CHANNEL = "/dev/ttyS1";
    /** L1's kernel command line: messages on its own channel, few of them, and a panic ends QEMU. */
    static final String KERNEL_CMDLINE = "console=ttyS1 quiet panic=-1";
    static final String SCENARIO_DIR = "/scenario";
    static final String JDK_DIR = "/opt/jdk";
    static final String CLASSPATH_DIR = "/aether/lib";
    static final String GUEST_KERNEL = "/guest/vmlinuz";
    static final String GUEST_INITRD = "/guest/initramfs.cpio.gz";

    private static final Pattern PARAMETERS = Pattern.compile("[A-Za-z0-9_.,=-]*");

    /** A module file to load with {@code insmod}, and its parameters (e.g. {@code nested=1}). */
    record ModuleLoad(Path file, String parameters) {
        ModuleLoad {
            if (!PARAMETERS.matcher(parameters).matches()) {
                throw new IllegalArgumentException("bad module parameters for " + file + ": '" + parameters + "'");
            }
        }

        String fileName() {
            return file.getFileName().toString();
        }
    }

    NestedImage {
        applets = List.copyOf(applets);
        modules = List.copyOf(modules);
        classpath = List.copyOf(classpath);
        libraries = Set.copyOf(libraries);
        hostFiles = Set.copyOf(hostFiles);
        for (Path p : libraries) {
            requireAbsolute(p);
        }
        for (Path p : hostFiles) {
            requireAbsolute(p);
        }
        if (qemu.isPresent() && !hostFiles.contains(qemu.get())) {
            throw new IllegalArgumentException("the QEMU binary " + qemu.get() + " must be among the host files");
        }
    }

    private static void requireAbsolute(Path p) {
        if (!p.isAbsolute()) {
            throw new IllegalArgumentException("host files are copied at their paths, so they must be absolute: " + p);
        }
    }

    /** The classpath as the scenario sees it inside L1: {@code /aether/lib/<n>-<name>}. */
    List<String> guestClasspath() {
        List<String> result = new ArrayList<>();
        for (int i = 0; i < classpath.size(); i++) {
            result.add(CLASSPATH_DIR + "/" + entryName(i));
        }
        return result;
    }

    private String entryName(int index) {
        return "%02d-%s".formatted(index, classpath.get(index).getFileName());
    }

    /** The layout, ready to write. */
    Initramfs layout() throws IOException {
        Initramfs image = Initramfs.busybox(busybox, applets, "run");
        for (ModuleLoad m : modules) {
            image.file("lib/modules/" + m.fileName(), 0644, m.file());
        }
        image.text("etc/passwd", 0644, "root:x:0:0:root:/root:/bin/sh\n");
        image.text("etc/group", 0644, "root:x:0:\n");
        image.text("etc/hosts", 0644, "127.0.0.1 localhost aether-l1\n");
        image.text("etc/hostname", 0644, "aether-l1\n");
        // Sorted, so that equal inputs give equal archives.
        for (Path lib : new TreeSet<>(libraries)) {
            image.file(lib.toString(), 0755, lib);
        }
        for (Path f : new TreeSet<>(hostFiles)) {
            image.file(f.toString(), f);
        }
        Optional<ScenarioFiles.JavaCommand> java = Optional.empty();
        if (jdk.isPresent()) {
            image.tree(JDK_DIR, jdk.get());
            for (int i = 0; i < classpath.size(); i++) {
                Path entry = classpath.get(i);
                String target = CLASSPATH_DIR + "/" + entryName(i);
                if (Files.isDirectory(entry)) {
                    image.tree(target, entry);
                } else {
                    image.file(target, 0644, entry);
                }
            }
            java = Optional.of(new ScenarioFiles.JavaCommand(JDK_DIR + "/bin/java", guestClasspath(), jvmOptions));
        }
        image.file(GUEST_KERNEL, 0644, guestKernel);
        image.file(GUEST_INITRD, 0644, guestInitrd);
        image.directory(SCENARIO_DIR);
        for (Map.Entry<String, Scenario.FileContent> f : ScenarioFiles.of(scenario, java).entrySet()) {
            String path = SCENARIO_DIR + "/" + f.getKey();
            switch (f.getValue()) {
                case Scenario.HostFile h -> image.file(path, h.permissions(), h.path());
                case Scenario.Text t -> image.file(path, t.permissions(), t.bytes());
            }
        }
        image.text("init", 0755, initScript());
        return image;
    }

    /** L1's {@code /init}. */
    String initScript() {
        StringBuilder s = new StringBuilder();
        s.append("""
                #!/bin/sh
                # /init of the Aether nested test host (L1), written by io.aether.testhost.
                # ttyS1 is L1's own channel (the kernel's console); ttyS0 is the scenario's console.
                export PATH=/scenario/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
                export HOME=/root
                mount -t proc proc /proc
                mount -t sysfs sysfs /sys
                mount -t devtmpfs devtmpfs /dev
                exec 0<>%1$s 1>&0 2>&0
                # The heartbeat tells the test host that L1 runs (a silent console is then a hang
                # of the monitor, not of the emulator); the OOM killer leaves it alone.
                ( echo -1000 > /proc/self/oom_score_adj
                  while :; do read -r up idle < /proc/uptime; echo "%2$s $up"; sleep %3$d; done
                ) </dev/null >%4$s 2>&1 &
                mkdir -p /dev/pts /dev/shm
                mount -t devpts devpts /dev/pts
                mount -t tmpfs tmpfs /dev/shm
                """.formatted(CONSOLE, StallClassifier.HEARTBEAT, StallClassifier.HEARTBEAT_INTERVAL.toSeconds(), HOST_CHANNEL));
        for (ModuleLoad m : modules) {
            s.append("insmod /lib/modules/").append(m.fileName())
                    .append(m.parameters().isEmpty() ? "" : " " + m.parameters())
                    .append(" || echo \"aether-l1: cannot load ").append(m.fileName()).append("\"\n");
        }
        Map<String, String> env = ScenarioFiles.environment(Path.of(SCENARIO_DIR), Path.of(GUEST_KERNEL),
                Path.of(GUEST_INITRD), qemu,
                jdk.isPresent());
        for (Map.Entry<String, String> e : env.entrySet()) {
            s.append("export ").append(e.getKey()).append('=').append(Scenario.quote(e.getValue())).append('\n');
        }
        jdk.ifPresent(j -> s.append("export JAVA_HOME=").append(JDK_DIR).append('\n'));
        s.append("""
                ip link set lo up
                [ -c /dev/kvm ] || echo "aether-l1: no /dev/kvm after loading the modules"
                # Raw: no echo, no line editing, no CR/LF mapping between the test and the monitor.
                stty -F %s raw -echo
                echo %s
                cd %s
                sh ./run.sh
                status=$?
                echo
                echo "%s $status"
                poweroff -f
                """.formatted(CONSOLE, READY, SCENARIO_DIR, EXIT));
        return s.toString();
    }
}
