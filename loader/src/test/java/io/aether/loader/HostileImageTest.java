package io.aether.loader;

import static io.aether.loader.TestImages.MIB;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzz targets: valid test images with random bytes overwritten (and sometimes cut short) must
 * load or fail with a {@link LoadException}; nothing else may escape, nothing may be written
 * outside guest RAM, and a loaded kernel lies inside it.
 */
class HostileImageTest {

    record Mutation(int position, byte value) {
    }

    record Case(int base, List<Mutation> mutations, int cut) {
    }

    private static final byte[][] BASES = {
            TestImages.bzImage(TestImages.gzip(TestImages.vmlinux(true))),
            TestImages.bzImage(TestImages.lz4Payload(TestImages.vmlinux(true))),
            TestImages.vmlinux(true),
            TestImages.vmlinux(false),
    };

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Integer> base = Arbitraries.integers().between(0, BASES.length - 1);
        // Positions biased to the headers, where the parsers look first.
        Arbitrary<Integer> position = Arbitraries.oneOf(Arbitraries.integers().between(0, 0x300), Arbitraries.integers().between(0, 40_000));
        Arbitrary<Byte> value = Arbitraries.oneOf(Arbitraries.bytes(), Arbitraries.of((byte) 0, (byte) 0xFF, (byte) 0x7F, (byte) 0x80));
        Arbitrary<List<Mutation>> mutations = Combinators.combine(position, value).as(Mutation::new).list().ofMinSize(1).ofMaxSize(8);
        Arbitrary<Integer> cut = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, Arbitraries.just(Integer.MAX_VALUE)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0, 40_000)));
        return Combinators.combine(base, mutations, cut).as(Case::new);
    }

    @Property(tries = 600)
    void mutatedImagesLoadOrFailCleanly(@ForAll("cases") Case c) {
        byte[] image = BASES[c.base()].clone();
        for (Mutation m : c.mutations()) {
            if (m.position() < image.length) image[m.position()] = m.value();
        }
        if (c.cut() < image.length) image = java.util.Arrays.copyOf(image, c.cut());
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 32 * MIB)))) {
            try {
                long end;
                if (ElfKernel.looksLike(image)) {
                    ElfKernel elf = ElfKernel.parse("fuzz", image);
                    end = elf.load(memory, MIB);
                    if (elf.pvhEntry.isEmpty()) elf.physicalEntry();
                } else {
                    BzImage bz = BzImage.parse("fuzz", image);
                    end = bz.load(memory, MIB, 32 * MIB);
                    ElfKernel inner = ElfKernel.parse("fuzz", bz.extractVmlinux(4 * MIB));
                    inner.load(memory, MIB);
                }
                assertTrue(end <= 32 * MIB);
            } catch (LoadException expected) {
                assertTrue(expected.getMessage().startsWith("fuzz: "), expected.getMessage());
            }
        }
    }
}
