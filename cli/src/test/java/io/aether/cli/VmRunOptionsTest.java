package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import io.aether.vmm.VmConfig;
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
        assertEquals("256M", o.mem());
        assertEquals(1, o.vcpus());
        assertEquals(VmConfig.DEFAULT_CMDLINE, o.cmdline());
        assertEquals("exit", o.onReboot());
        assertEquals(List.of(), o.disks());
        assertNull(o.tap());
        assertFalse(o.traceExits());
        assertFalse(o.help());
        assertTrue(VmRunCommand.HELP.contains("(default: 256M)") && VmRunCommand.HELP.contains("(default: 1)")
                && VmRunCommand.HELP.contains("(default: exit)") && VmRunCommand.HELP.contains(VmConfig.DEFAULT_CMDLINE));
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
    void theStubProgramIsOptional() {
        assertEquals("hello", parse("--stub").stub());
        assertEquals("echo", parse("--stub=echo").stub());
        assertEquals("crash", parse("--stub", "crash").stub());
        VmRunCommand.Options o = parse("--stub", "--trace-exits");
        assertEquals("hello", o.stub());
        assertTrue(o.traceExits(), "an option after --stub is not its program");
        assertEquals(VmConfig.stub(io.aether.arch.x86_64.StubGuest.Program.ECHO, false), parse("--stub=echo").config());
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
    void meaningMistakesAreRefusedWhenTheConfigurationIsBuilt() {
        assertEquals("--stub and --kernel exclude each other", assertThrows(IllegalArgumentException.class,
                () -> parse("--stub", "--kernel", "k").config()).getMessage());
        assertEquals("--on-reboot: 'later' is not exit or restart", assertThrows(IllegalArgumentException.class,
                () -> parse("--kernel", "pom.xml", "--on-reboot", "later").config()).getMessage());
    }

    @Test
    void aDiskIsReadWriteUnlessMarkedReadOnlyAndTheHelpSaysSo() {
        VmConfig config = parse("--kernel", "k", "--disk", "a.img", "--disk", "b.img,ro", "--disk=c.img,rw").config();
        assertEquals(List.of(new VmConfig.Disk(Path.of("a.img"), false), new VmConfig.Disk(Path.of("b.img"), true),
                new VmConfig.Disk(Path.of("c.img"), false)), config.disks());
        assertTrue(VmRunCommand.HELP.contains("',ro' attaches it read-only; ',rw' read-write,\n"), VmRunCommand.HELP);
        assertTrue(VmRunCommand.HELP.contains("the default."), VmRunCommand.HELP);
        for (String noPath : List.of(",rw", ",ro", "")) {
            assertEquals("--disk: empty path in '" + noPath + "'", assertThrows(IllegalArgumentException.class,
                    () -> parse("--kernel", "k", "--disk", noPath).config()).getMessage());
        }
    }

    @Test
    void theHelpDescribesEveryOptionTheParserKnows() {
        for (String name : VmRunCommand.VALUED) {
            assertTrue(VmRunCommand.HELP.contains("  " + name + " "), name + " is in the help");
        }
        for (String name : List.of("--stub[=PROGRAM]", "--disk PATH[,ro|,rw]", "--trace-exits", "-h, --help")) {
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
}
