package io.aether.arch.x86_64;

/**
 * A descriptor-table register (GDTR or IDTR).
 *
 * @param base linear address of the table
 * @param limit size of the table in bytes minus one, 16-bit
 */
public record DescriptorTable(long base, int limit) {

    public DescriptorTable {
        if (limit < 0 || limit > 0xFFFF) throw new IllegalArgumentException("descriptor table limit " + limit + " is not 16-bit");
    }
}
