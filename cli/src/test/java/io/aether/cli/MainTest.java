package io.aether.cli;

import static io.aether.cli.VmRunCommandTest.aether;
import static io.aether.cli.VmRunCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.cli.VmRunCommandTest.Result;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The top-level dispatch of {@code aether}: commands it does not have. */
@Timeout(120)
class MainTest {

    @Test
    void anUnknownCommandIsOneLineNamingItAndStatusTwo() throws Exception {
        String[][] cases = {
            {"deploy", "--help", "aether: unknown command 'deploy' (see 'aether --help')"},
            {"cluster", "aether: unknown command 'cluster' (see 'aether --help')"},
            {"frobnicate", "aether: unknown command 'frobnicate' (see 'aether --help')"},
            {"mdoel", "status", "aether: unknown command 'mdoel'; did you mean 'model'? (see 'aether --help')"},
            {"help", "cluster", "aether: unknown command 'cluster' (see 'aether --help')"},
        };
        for (String[] c : cases) {
            List<String> args = List.of(c).subList(0, c.length - 1);
            Result r = run(new byte[0], aether(args.toArray(String[]::new)));
            assertEquals(2, r.status(), args + ": " + r.err());
            assertEquals(c[c.length - 1] + System.lineSeparator(), r.err(), args.toString());
            assertEquals("", r.out(), args.toString());
        }
    }

    @Test
    void knownCommandsAndTheirHelpStillRun() throws Exception {
        Result top = run(new byte[0], aether("--help"));
        assertEquals(0, top.status(), top.err());
        assertTrue(top.out().startsWith("Usage: aether"), top.out());
        Result help = run(new byte[0], aether("help", "guest"));
        assertEquals(0, help.status(), help.err());
        assertTrue(help.out().contains("aether guest"), help.out());
    }

    @Test
    void guestFetchTakesOnlyTheArchitecturesItCanBuild(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        Result r = run(new byte[0], aether("guest", "fetch", "--arch", "sparc", "--cache-dir", dir.toString()));
        assertEquals(2, r.status(), r.err());
        assertEquals("--arch: 'sparc' is not amd64 or arm64", r.err().lines().findFirst().orElse(""));
        try (var left = java.nio.file.Files.list(dir)) {
            assertEquals(0, left.count(), "nothing fetched or created on refusal");
        }
    }

    @Test
    void theDemoTakesOnlyTheArchitecturesItCanBoot() throws Exception {
        Result r = run(new byte[0], aether("demo", "--arch", "riscv64"));
        assertEquals(2, r.status(), r.err());
        assertEquals("--arch: 'riscv64' is not amd64 or arm64", r.err().lines().findFirst().orElse(""));
        assertEquals("", r.out(), "nothing booted on refusal");
    }

    @Test
    void theClosestCommandIsOfferedOnlyWhenItIsClose() {
        assertEquals(Optional.of("model"), Main.closestCommand("mdoel"));
        assertEquals(Optional.of("model"), Main.closestCommand("modl"));
        assertEquals(Optional.of("vm"), Main.closestCommand("vn"));
        assertEquals(Optional.of("guest"), Main.closestCommand("guests"));
        assertEquals(Optional.empty(), Main.closestCommand("xy"), "two edits of a two-letter word is any word");
        assertEquals(Optional.empty(), Main.closestCommand("cluster"));
        assertEquals(Optional.empty(), Main.closestCommand("frobnicate"));
        assertEquals(3, Main.editDistance("kitten", "sitting"));
        assertEquals(2, Main.editDistance("mdoel", "model"));
        assertEquals(5, Main.editDistance("", "guest"));
        assertEquals(0, Main.editDistance("vm", "vm"));
    }
}
