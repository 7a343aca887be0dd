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
        Initramfs image = Initramfs.busybox(busybox, applets, "mnt");
        image.directory(GuestInit.MODULE_DIR);
        for (Path m : modules) {
            image.file(GuestInit.MODULE_DIR + "/" + m.getFileName(), 0644, m);
        }
        image.text("etc/hostname", 0644, "aether\n");
        image.text("init", 0755, GuestInit.script(modules.stream().map(m -> m.getFileName().toString()).toList()));
        return image;
    }
}
