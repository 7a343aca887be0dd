/**
 * The flattened device tree (DTB) writer: how an Arm guest learns its memory, CPUs, interrupt
 * controller and devices (Devicetree Specification v0.4, chapter 5).
 */
package io.aether.arch.fdt;
