/**
 * Guest artifacts: what a stock Linux guest boots from.
 *
 * <p>{@link io.aether.guest.CpioWriter} streams newc archives and {@link io.aether.guest.Initramfs}
 * lays one out; {@link io.aether.guest.ModInfo} and {@link io.aether.guest.KernelModules} read
 * kernel modules' metadata and order them by their dependencies; {@link io.aether.guest.GuestFetcher}
 * ({@code aether guest fetch}) downloads Debian's cloud kernel and a static busybox and caches a
 * ready-to-boot kernel and initramfs, whose {@code /init} is described by {@link io.aether.guest.GuestInit}.
 */
package io.aether.guest;
