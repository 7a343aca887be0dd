package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.common.FieldException;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import io.aether.common.ByteSize;
import io.aether.vmspec.VmSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The hand-written parser of {@code aether vm run}, without starting anything. */
@Timeout(60)
class VmRunOptionsTest {

    private static VmRunCommand.Options parse(String... args) {
        return VmRunCommand.Options.parse(List.of(args));
    }

    private static String refusal(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> parse(args)).getMessage();
    }

    @Test
    void defaultsAreThoseTheHelpPromises() {
        VmRunCommand.Options o = parse("--kernel", "vmlinuz");
        assertEquals(Path.of("vmlinuz"), o.kernel());
        assertNull(o.initrd());
        assertNull(o.stub());
        assertNull(o.mem());
        assertEquals(1, o.vcpus());
        assertNull(o.cmdline());
        assertEquals("exit", o.onReboot());
        assertEquals(List.of(), o.disks());
        assertNull(o.tap());
        assertFalse(o.traceExits());
        assertFalse(o.help());
        assertTrue(o.pageMerging());
        assertFalse(parse("--stub", "--no-page-merging").pageMerging());
        assertTrue(VmRunCommand.HELP.contains("(default: 256M)") && VmRunCommand.HELP.contains("(default: 1)")
                && VmRunCommand.HELP.contains("(default: exit)") && VmRunCommand.HELP.contains(VmSpec.DEFAULT_CMDLINE));
        assertEquals(VmSpec.linux(Path.of("vmlinuz")), o.spec());
        assertEquals(ByteSize.ofMiB(256), o.spec().memory());
        assertEquals("console=ttyS0 panic=-1", o.spec().boot() instanceof VmSpec.Boot.Linux l ? l.cmdline() : null);
    }

    @Test
    void valuesFollowAsTheNextArgumentOrAfterAnEqualsSign() {
        VmRunCommand.Options o = parse("--kernel=k", "--initrd", "i", "--cmdline", "console=ttyS0 quiet", "--mem=512M",
                "--vcpus", "2", "--disk", "a.img", "--disk=b.img,ro", "--net", "tap0", "--trace-exits", "--on-reboot=restart");
        assertEquals(Path.of("k"), o.kernel());
        assertEquals(Path.of("i"), o.initrd());
        assertEquals("console=ttyS0 quiet", o.cmdline());
        assertEquals("512M", o.mem());
        assertEquals(2, o.vcpus());
        assertEquals(List.of("a.img", "b.img,ro"), o.disks());
        assertEquals("tap0", o.tap());
        assertTrue(o.traceExits());
        assertEquals("restart", o.onReboot());
        // A value may itself start with a dash: it belongs to the option before it.
        assertEquals("-weird", parse("--kernel", "k", "--cmdline", "-weird").cmdline());
    }

    @Test
    void debugIsAFlagOfItsOwn() {
        VmRunCommand.Options o = parse("--kernel", "k", "--debug");
        assertTrue(o.debug());
        assertFalse(o.traceExits(), "--debug turns the trace on when the VM runs, not in the options");
        assertFalse(parse("--kernel", "k").debug());
        var e = assertThrows(IllegalArgumentException.class, () -> parse("--kernel", "k", "--debug=step"));
        assertEquals("--debug takes no value", e.getMessage());
    }

    @Test
    void theStubProgramIsOptional() {
        assertEquals("hello", parse("--stub").stub());
        assertEquals("echo", parse("--stub=echo").stub());
        assertEquals("crash", parse("--stub", "crash").stub());
        VmRunCommand.Options o = parse("--stub", "--trace-exits");
        assertEquals("hello", o.stub());
        assertTrue(o.traceExits(), "an option after --stub is not its program");
        assertEquals(VmSpec.stub(VmSpec.StubProgram.ECHO), parse("--stub=echo").spec());
        assertEquals(ByteSize.ofMiB(16), parse("--stub").spec().memory());
        assertEquals(ByteSize.ofMiB(64), parse("--stub", "--mem", "64M").spec().memory());
    }

    @Test
    void helpIsAskedForWithEitherName() {
        assertTrue(parse("--help").help());
        assertTrue(parse("-h").help());
        assertTrue(parse("--stub", "--help").help());
    }

    @Test
    void syntaxMistakesAreRefusedWithOneLineNamingTheArgument() {
        assertEquals("unknown option '--kernal' (see 'aether vm run --help')", refusal("--kernal", "k"));
        assertEquals("unexpected argument 'vmlinuz' (see 'aether vm run --help')", refusal("vmlinuz"));
        assertEquals("--mem needs a value", refusal("--kernel", "k", "--mem"));
        assertEquals("--disk needs PATH[,ro|,rw]", refusal("--kernel", "k", "--disk"));
        assertEquals("option '--mem' should be given only once", refusal("--mem", "1G", "--mem", "2G"));
        assertEquals("--vcpus: 'two' is not a whole number", refusal("--kernel", "k", "--vcpus", "two"));
        assertEquals("--trace-exits takes no value", refusal("--stub", "--trace-exits=yes"));
    }

    @Test
    void everyOptionLandsInItsFieldOfTheSpec() {
        VmSpec spec = parse("--kernel=k", "--initrd", "i", "--cmdline", "quiet", "--mem=512M", "--vcpus", "2", "--disk", "a.img",
                "--disk=b.img,ro", "--disk", "c.img,rw", "--net", "tap0", "--trace-exits", "--on-reboot=restart").spec();
        assertEquals(new VmSpec(new VmSpec.Boot.Linux(Path.of("k"), java.util.Optional.of(Path.of("i")), "quiet"), ByteSize.ofMiB(512), 2,
                List.of(new VmSpec.Disk(Path.of("a.img"), false), new VmSpec.Disk(Path.of("b.img"), true), new VmSpec.Disk(Path.of("c.img"), false)),
                List.of(new VmSpec.Nic("tap0", java.util.Optional.empty())), VmSpec.OnReboot.RESTART), spec);
    }

    private static String specRefusal(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> parse(args).spec()).getMessage();
    }

    @Test
    void meaningMistakesAreRefusedInTheCommandLinesTerms() {
        assertEquals("--stub and --kernel exclude each other", specRefusal("--stub", "--kernel", "k"));
        assertEquals("--on-reboot: 'later' is not exit or restart", specRefusal("--kernel", "pom.xml", "--on-reboot", "later"));
        assertEquals("--mem: 8M is too small (at least 16M)", specRefusal("--kernel", "k", "--mem", "8M"));
        assertEquals("--mem: not a size: 'lots' (expected e.g. 512M, 2G or a number of bytes)", specRefusal("--kernel", "k", "--mem", "lots"));
        assertEquals("--vcpus: 0 is out of range (1 to 254)", specRefusal("--kernel", "k", "--vcpus", "0"));
        assertEquals("--cmdline: contains a NUL character", specRefusal("--kernel", "k", "--cmdline", "a\0b"));
        assertEquals("--disk: empty path", specRefusal("--kernel", "k", "--disk", "a.img", "--disk", ",ro"));
        assertEquals("--disk: a.img is already disks[0]", specRefusal("--kernel", "k", "--disk", "a.img", "--disk", "a.img,ro"));
        assertEquals("--net: 'a/b' is not an interface name (1 to 15 characters, no '/' or spaces)", specRefusal("--kernel", "k", "--net", "a/b"));
        assertEquals("--stub: 'nope' is not hello, echo, count, crash, keyboard or hypercall", specRefusal("--stub=nope"));
        assertEquals("--vcpus: the stub guest runs on 1 vCPU, not 2", specRefusal("--stub", "--vcpus", "2"));
        assertEquals("--disk: the stub guest has no disks", specRefusal("--stub", "--disk", "a.img"));
        assertEquals("--net: the stub guest has no network devices", specRefusal("--stub", "--net", "tap0"));
        assertEquals("--initrd needs --kernel", specRefusal("--stub", "--initrd", "i"));
        assertEquals("--cmdline needs --kernel", specRefusal("--stub", "--cmdline", "quiet"));
    }

    @Test
    void everyFieldASpecCanNameHasItsOption() {
        String[][] fields = {{"boot.kernel", "--kernel"}, {"boot.initrd", "--initrd"}, {"boot.cmdline", "--cmdline"},
            {"boot.stub", "--stub"}, {"memory", "--mem"}, {"vcpus", "--vcpus"}, {"disks", "--disk"}, {"disks[12].path", "--disk"},
            {"nics", "--net"}, {"nics[0].tap", "--net"}, {"onReboot", "--on-reboot"}};
        for (String[] f : fields) assertEquals(f[1] + ": bad", VmRunCommand.inFlags(new FieldException(f[0], "bad")), f[0]);
    }

    @Test
    void aDiskIsReadWriteUnlessMarkedReadOnlyAndTheHelpSaysSo() {
        VmSpec spec = parse("--kernel", "k", "--disk", "a.img", "--disk", "b.img,ro", "--disk=c.img,rw").spec();
        assertEquals(List.of(new VmSpec.Disk(Path.of("a.img"), false), new VmSpec.Disk(Path.of("b.img"), true),
                new VmSpec.Disk(Path.of("c.img"), false)), spec.disks());
        assertTrue(VmRunCommand.HELP.contains("',ro' attaches it read-only; ',rw' read-write,\n"), VmRunCommand.HELP);
        assertTrue(VmRunCommand.HELP.contains("the default."), VmRunCommand.HELP);
        for (String noPath : List.of(",rw", ",ro", "")) {
            assertEquals("--disk: empty path", specRefusal("--kernel", "k", "--disk", noPath));
        }
    }

    @Test
    void theHelpDescribesEveryOptionTheParserKnows() {
        for (String name : VmRunCommand.VALUED) {
            assertTrue(VmRunCommand.HELP.contains("  " + name + " "), name + " is in the help");
        }
        for (String name : List.of("--stub[=PROGRAM]", "--disk PATH[,ro|,rw]", "--trace-exits", "--no-page-merging", "-h, --help")) {
            assertTrue(VmRunCommand.HELP.contains(name), name + " is in the help");
        }
    }

    @Test
    void anyCommandLineIsParsedOrRefusedWithAReason() {
        List<String> words = List.of("--stub", "--kernel", "--mem", "--vcpus", "--disk", "--trace-exits", "-h", "x",
                "--stub=", "--mem=", "=", "-", "--", "2", "512M", "--net", "--on-reboot=restart", "--zzz");
        Property.forAll(Gen.lists(Gen.choose(words.toArray(String[]::new)), 0, 8)).tries(2000).check(args -> {
            try {
                parse(args.toArray(String[]::new));
            } catch (IllegalArgumentException refused) {
                assertFalse(refused.getMessage().isBlank());
                assertEquals(1, refused.getMessage().lines().count());
            }
        });
    }

    @Test
    void onlyAVmWithANicHasAnIdMadeForItsMacs() {
        VmSpec stub = parse("--stub").spec();
        assertEquals(stub, VmRunCommand.withMacs(stub, () -> {
            throw new AssertionError("a VM without a NIC needs no id (a random UUID starts the security providers)");
        }));
        VmSpec withNic = VmRunCommand.withMacs(parse("--kernel", "k", "--net", "tap0").spec(), () -> "vm-1");
        assertEquals(withNic, parse("--kernel", "k", "--net", "tap0").spec().withMacsFor("vm-1"));
        assertTrue(withNic.nics().getFirst().mac().isPresent(), "the NIC's MAC is chosen");
    }
}
