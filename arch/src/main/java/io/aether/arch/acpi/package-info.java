/**
 * Architecture-neutral ACPI building blocks: the AML encoder, table framing with checksums and
 * generic addresses (ACPI 6.5 sections 5.2 and 20).
 */
package io.aether.arch.acpi;
