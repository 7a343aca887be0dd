package io.aether.guest;

import java.nio.file.Path;
import java.util.List;

/** The layout of the guest initramfs: static busybox and its applet links, the virtio modules, /init. */
final class GuestImage {

    private GuestImage() {
    }

    /**
     * The initramfs layout.
     *
     * @param busybox the static busybox binary on the host
     * @param applets the applet paths busybox reports ({@code busybox --list-full}: {@code bin/sh}, {@code sbin/insmod}, ...)
     * @param modules module files on the host, in load order
     */
    static Initramfs layout(Path busybox, List<String> applets, List<Path> modules) {
        Initramfs image = new Initramfs();
        for (String dir : List.of("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root", "mnt")) {
            image.directory(dir);
        }
        image.directory("tmp", 01777);
        // The kernel opens /dev/console for init before anything mounts devtmpfs
        // (this kernel has no CONFIG_DEVTMPFS_MOUNT), so the node must be in the archive.
        image.charDevice("dev/console", 0600, 5, 1);
        image.charDevice("dev/null", 0666, 1, 3);
        image.file("bin/busybox", 0755, busybox);
        for (String applet : applets) {
            String path = applet.strip();
            if (!path.isEmpty() && !path.equals("bin/busybox")) {
                image.symlink(path, "/bin/busybox");
            }
        }
        image.directory(GuestInit.MODULE_DIR);
        for (Path m : modules) {
            image.file(GuestInit.MODULE_DIR + "/" + m.getFileName(), 0644, m);
        }
        image.text("etc/hostname", 0644, "aether\n");
        image.text("init", 0755, GuestInit.script(modules.stream().map(m -> m.getFileName().toString()).toList()));
        return image;
    }
}
