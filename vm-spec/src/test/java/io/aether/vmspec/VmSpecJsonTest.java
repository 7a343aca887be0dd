package io.aether.vmspec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import io.aether.common.MacAddress;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class VmSpecJsonTest {

    private static final VmSpec FULL = new VmSpec(
            new VmSpec.Boot.Linux(Path.of("/vm/vmlinuz"), Optional.of(Path.of("/vm/initrd.gz")), "console=ttyS0 quiet"),
            ByteSize.ofMiB(512), 2,
            List.of(new VmSpec.Disk(Path.of("/vm/root.img"), false, Optional.of(new VmSpec.RateLimit(52_428_800, 1000, 0, 50))),
                    new VmSpec.Disk(Path.of("/vm/base.img"), true)),
            List.of(new VmSpec.Nic("tap0", Optional.of(MacAddress.parse("02:8e:2b:67:31:0c"))),
                    new VmSpec.Nic("tap1", Optional.empty(), Optional.of(new VmSpec.RateLimit(0, 100, 0, 0)),
                            Optional.of(new VmSpec.RateLimit(12_500_000, 0, 1_048_576, 0)))),
            VmSpec.OnReboot.RESTART);

    /** FULL, written out by hand. */
    private static final String FULL_JSON = "{\"boot\":{\"kernel\":\"/vm/vmlinuz\",\"initrd\":\"/vm/initrd.gz\",\"cmdline\":\"console=ttyS0 quiet\"},"
            + "\"memory\":\"512M\",\"vcpus\":2,"
            + "\"disks\":[{\"path\":\"/vm/root.img\",\"readOnly\":false,\"rateLimit\":{\"bytesPerSecond\":52428800,\"opsPerSecond\":1000,\"opsBurst\":50}},"
            + "{\"path\":\"/vm/base.img\",\"readOnly\":true}],"
            + "\"nics\":[{\"tap\":\"tap0\",\"mac\":\"02:8e:2b:67:31:0c\"},{\"tap\":\"tap1\",\"rxRateLimit\":{\"opsPerSecond\":100},"
            + "\"txRateLimit\":{\"bytesPerSecond\":12500000,\"bytesBurst\":1048576}}],"
            + "\"onReboot\":\"restart\"}";

    private static String refusal(String json) {
        return assertThrows(FieldException.class, () -> VmSpecJson.read(json)).getMessage();
    }

    @Test
    void theJsonFormIsTheDocumentedOne() {
        assertEquals(FULL_JSON, VmSpecJson.write(FULL));
        assertEquals(FULL, VmSpecJson.read(FULL_JSON));
        String stub = "{\"boot\":{\"stub\":\"echo\"},\"memory\":\"16M\",\"vcpus\":1,\"disks\":[],\"nics\":[],\"onReboot\":\"exit\"}";
        assertEquals(stub, VmSpecJson.write(VmSpec.stub(VmSpec.StubProgram.ECHO)));
        assertEquals(VmSpec.stub(VmSpec.StubProgram.ECHO), VmSpecJson.read(stub));
    }

    @Test
    void absentFieldsTakeTheDefaults() {
        assertEquals(VmSpec.linux(Path.of("k")), VmSpecJson.read("{\"boot\": {\"kernel\": \"k\"}}"));
        assertEquals(VmSpec.linux(Path.of("k")), VmSpecJson.read("{\"boot\": {\"kernel\": \"k\", \"initrd\": null}, \"nics\": null}"));
        assertEquals(VmSpec.stub(VmSpec.StubProgram.HELLO), VmSpecJson.read(" {\"boot\": {\"stub\": \"hello\"}}\n"));
        assertEquals(ByteSize.ofMiB(32), VmSpecJson.read("{\"boot\": {\"stub\": \"hello\"}, \"memory\": 33554432}").memory());
        assertEquals(ByteSize.ofMiB(32), VmSpecJson.read("{\"boot\": {\"stub\": \"hello\"}, \"memory\": \"32MiB\"}").memory());
    }

    @Test
    void badJsonIsRefusedNamingTheField() {
        String[][] cases = {
            {"{\"boot\": {\"kernel\": \"k\"}, \"memroy\": \"1G\"}", "memroy: unknown field (known: boot, memory, vcpus, disks, nics, onReboot)"},
            {"{\"boot\": {\"kernel\": \"k\", \"initramfs\": \"i\"}}", "boot.initramfs: unknown field (known: kernel, initrd, cmdline, stub)"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"disks\": [{\"path\": \"a\"}, {\"path\": \"b\", \"ro\": true}]}",
                "disks[1].ro: unknown field (known: path, readOnly, rateLimit)"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"nics\": [{\"tap\": \"t\", \"mac\": \"x\", \"\\n\": 1}]}", "nics[0].?: unknown field (known: tap, mac, rxRateLimit, txRateLimit)"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"vcpus\": 1, \"vcpus\": 2}", "spec: not JSON at line 1, column 46: field 'vcpus' given twice"},
            {"{}", "boot: missing"},
            {"{\"boot\": null}", "boot: missing"},
            {"{\"boot\": {}}", "boot.kernel: missing"},
            {"{\"boot\": \"vmlinuz\"}", "boot: expected an object, got a string"},
            {"{\"boot\": {\"stub\": \"hello\", \"kernel\": \"k\"}}", "boot.kernel: not with stub (a kernel or the stub guest, not both)"},
            {"{\"boot\": {\"stub\": \"nope\"}}", "boot.stub: 'nope' is not hello, echo, count, crash, keyboard or hypercall"},
            {"{\"boot\": {\"stub\": 1}}", "boot.stub: expected a string, got the number 1"},
            {"{\"boot\": {\"kernel\": \"k\", \"cmdline\": [\"a\"]}}", "boot.cmdline: expected a string, got an array"},
            {"{\"boot\": {\"kernel\": \"k\\u0000\"}}", "boot.kernel: not a path: 'k?'"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"memory\": \"8M\"}", "memory: 8M is too small (at least 16M)"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"memory\": \"lots\"}", "memory: not a size: 'lots' (expected e.g. 512M, 2G or a number of bytes)"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"memory\": -1}", "memory: a size cannot be negative: -1"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"memory\": 1.5}", "memory: expected a size such as \"256M\" or a number of bytes, got a fraction"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"vcpus\": \"2\"}", "vcpus: expected a whole number, got a string"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"vcpus\": 2.5}", "vcpus: expected a whole number, got a fraction"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"vcpus\": 4294967297}", "vcpus: expected a whole number, got the number 4294967297"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"vcpus\": 0}", "vcpus: 0 is out of range (1 to 254)"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"disks\": {\"path\": \"a\"}}", "disks: expected an array, got an object"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"disks\": [\"a.img\"]}", "disks[0]: expected an object, got a string"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"disks\": [{\"readOnly\": true}]}", "disks[0].path: missing"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"disks\": [{\"path\": \"a\", \"readOnly\": \"yes\"}]}", "disks[0].readOnly: expected true or false, got a string"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"nics\": [{\"tap\": \"tap0\", \"mac\": \"zz\"}]}",
                "nics[0].mac: not a MAC address (expected aa:bb:cc:dd:ee:ff): 'zz'"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"nics\": [{\"tap\": \"tap0\", \"mac\": \"01:00:5e:00:00:01\"}]}",
                "nics[0].mac: a guest MAC address must be unicast (first octet even): 01:00:5e:00:00:01"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"nics\": [{\"mac\": \"02:00:00:00:00:01\"}]}", "nics[0].tap: missing"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"onReboot\": \"later\"}", "onReboot: 'later' is not exit or restart"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"onReboot\": true}", "onReboot: expected a string, got true"},
            {"[]", "spec: expected an object, got an array"},
            {"", "spec: empty"},
            {"{\"boot\": {\"kernel\": \"k\"}} {}", "spec: more after the spec at line 1, column 27"},
            {"{\"boot\": ", "spec: not JSON at line 1, column 10: the text ends where a value should be"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"disks\": [{\"path\": \"a\", \"rateLimit\": {\"iops\": 5}}]}",
                "disks[0].rateLimit.iops: unknown field (known: bytesPerSecond, opsPerSecond, bytesBurst, opsBurst)"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"disks\": [{\"path\": \"a\", \"rateLimit\": {}}]}",
                "disks[0].rateLimit: limits nothing (give bytesPerSecond, opsPerSecond or both)"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"disks\": [{\"path\": \"a\", \"rateLimit\": {\"opsPerSecond\": -1}}]}",
                "disks[0].rateLimit.opsPerSecond: -1 is out of range (0 to 1099511627776)"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"disks\": [{\"path\": \"a\", \"rateLimit\": {\"opsPerSecond\": 1.5}}]}",
                "disks[0].rateLimit.opsPerSecond: expected a whole number, got a fraction"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"disks\": [{\"path\": \"a\", \"rateLimit\": 100}]}",
                "disks[0].rateLimit: expected an object, got the number 100"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"nics\": [{\"tap\": \"t\", \"txRateLimit\": {\"opsPerSecond\": 5, \"bytesBurst\": 9}}]}",
                "nics[0].txRateLimit.bytesBurst: needs bytesPerSecond"},
            {"{\"boot\": {\"kernel\": \"k\"}, \"nics\": [{\"tap\": \"t\", \"rxRateLimit\": {\"bytesPerSecond\": 2000000000000}}]}",
                "nics[0].rxRateLimit.bytesPerSecond: 2000000000000 is out of range (0 to 1099511627776)"},
        };
        for (String[] c : cases) assertEquals(c[1], refusal(c[0]), c[0]);
        String huge = "{\"boot\": {\"kernel\": \"" + "k".repeat(VmSpecJson.MAX_CHARS) + "\"}}";
        assertEquals("spec: " + huge.length() + " characters is more than a spec may have (65536)", refusal(huge));
    }

    /** No limit, or one with each field 0 or random (at least one rate set, bursts only beside their rate). */
    private static Optional<VmSpec.RateLimit> limit(RandomGenerator random) {
        if (random.nextBoolean()) return Optional.empty();
        long bytes = random.nextBoolean() ? random.nextLong(1, VmSpec.RateLimit.MAX + 1) : 0;
        long ops = bytes == 0 || random.nextBoolean() ? random.nextLong(1, 1_000_000) : 0;
        return Optional.of(new VmSpec.RateLimit(bytes, ops, bytes != 0 && random.nextBoolean() ? random.nextLong(1, 1L << 30) : 0,
                ops != 0 && random.nextBoolean() ? random.nextLong(1, 1000) : 0));
    }

    private static final Gen<VmSpec> SPECS = random -> {
        Gen<String> names = Gen.strings(1, 12, 'a', 'z');
        boolean stub = random.nextInt(4) == 0;
        if (stub) {
            return VmSpec.stub(Gen.choose(VmSpec.StubProgram.values()).next(random))
                    .withMemory(new ByteSize(Gen.longs(4096, 1 << 20).next(random) * 4096));
        }
        Optional<Path> initrd = random.nextBoolean() ? Optional.of(Path.of("/i", names.next(random))) : Optional.empty();
        VmSpec.Boot boot = new VmSpec.Boot.Linux(Path.of(names.next(random), names.next(random)), initrd,
                Gen.strings(0, 40, ' ', '~').next(random) + "é\u2603");
        List<VmSpec.Disk> disks = new ArrayList<>();
        int diskCount = Gen.ints(0, 4).next(random);
        for (int i = 0; i < diskCount; i++) {
            disks.add(new VmSpec.Disk(Path.of("d" + i, names.next(random)), random.nextBoolean(), limit(random)));
        }
        List<VmSpec.Nic> nics = new ArrayList<>();
        int nicCount = Gen.ints(0, 3).next(random);
        for (int i = 0; i < nicCount; i++) {
            Optional<MacAddress> mac = random.nextBoolean() ? Optional.of(new MacAddress(random.nextLong(1L << 48) & ~(1L << 40))) : Optional.empty();
            nics.add(new VmSpec.Nic("tap" + i, mac, limit(random), limit(random)));
        }
        try {
            return new VmSpec(boot, new ByteSize(Gen.longs(4096, 1L << 28).next(random) * 4096), Gen.ints(1, 254).next(random),
                    disks, nics, Gen.choose(VmSpec.OnReboot.values()).next(random));
        } catch (FieldException twoEqualMacs) {
            return VmSpec.linux(Path.of("k"));
        }
    };

    @Test
    void everySpecReadsBackAsWritten() {
        Property.forAll(SPECS).tries(500).check(spec -> assertEquals(spec, VmSpecJson.read(VmSpecJson.write(spec))));
    }

    @Test
    void anyDamageToTheJsonIsAFieldExceptionOfOneLine() {
        Gen<String> damaged = random -> {
            StringBuilder json = new StringBuilder(VmSpecJson.write(SPECS.next(random)));
            int edits = Gen.ints(1, 4).next(random);
            for (int i = 0; i < edits && !json.isEmpty(); i++) {
                int at = random.nextInt(json.length());
                switch (random.nextInt(3)) {
                    case 0 -> json.deleteCharAt(at);
                    case 1 -> json.insert(at, Gen.choose("\"", "{", "}", "[", "]", ",", ":", "null", "1", "-", "\\", "\n", "x").next(random));
                    default -> json.setCharAt(at, (char) Gen.ints(0, 127).next(random).intValue());
                }
            }
            return json.toString();
        };
        Property.forAll(damaged).tries(2000).check(json -> {
            try {
                VmSpecJson.read(json);
            } catch (FieldException refused) {
                assertEquals(1, refused.getMessage().lines().count(), refused.getMessage());
                assertEquals(refused.field() + ": " + refused.problem(), refused.getMessage());
            }
        });
    }
}
