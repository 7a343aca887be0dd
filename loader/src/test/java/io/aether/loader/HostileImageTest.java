package io.aether.loader;

import static io.aether.loader.TestImages.MIB;
import static io.aether.testkit.Gen.weighted;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.List;
import org.junit.jupiter.api.Test;

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

    private static Gen<Case> cases() {
        Gen<Integer> base = Gen.ints(0, BASES.length - 1);
        // Positions biased to the headers, where the parsers look first.
        Gen<Integer> position = Gen.oneOf(Gen.ints(0, 0x300), Gen.ints(0, 40_000));
        Gen<Byte> value = Gen.oneOf(Gen.ints(Byte.MIN_VALUE, Byte.MAX_VALUE).map(Integer::byteValue),
                Gen.choose((byte) 0, (byte) 0xFF, (byte) 0x7F, (byte) 0x80));
        Gen<List<Mutation>> mutations = Gen.lists(r -> new Mutation(position.next(r), value.next(r)), 1, 8);
        Gen<Integer> cut = Gen.frequency(weighted(4, Gen.constant(Integer.MAX_VALUE)), weighted(1, Gen.ints(0, 40_000)));
        return r -> new Case(base.next(r), mutations.next(r), cut.next(r));
    }

    @Test
    void mutatedImagesLoadOrFailCleanly() {
        Property.forAll(cases()).tries(600).check(HostileImageTest::loadsOrFailsCleanly);
    }

    private static void loadsOrFailsCleanly(Case c) {
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
                    end = bz.load(memory, MIB, 32 * MIB, java.nio.file.Path.of("/nonexistent/fuzz")); // all bytes in hand: never read
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
