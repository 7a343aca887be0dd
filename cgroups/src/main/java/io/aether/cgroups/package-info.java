/**
 * Kernel-enforced quotas per monitor process: CPU bandwidth and a memory limit set through
 * cgroups (v1, v2 or both side by side), and the groups' own accounting read back. The node
 * agent detects the layout once ({@link io.aether.cgroups.CgroupLayout#detect()}), then for each
 * VM creates a group, moves its monitor in, reads its usage and removes the group when the
 * monitor is gone ({@link io.aether.cgroups.Cgroups}, {@link io.aether.cgroups.VmCgroup}).
 */
package io.aether.cgroups;
