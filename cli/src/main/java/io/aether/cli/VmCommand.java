package io.aether.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * {@code aether vm}: the microVM monitor. Its one subcommand, {@code run}, has its own parser
 * ({@link VmRunCommand}); {@link Main} hands {@code vm run} to it before picocli starts, and the
 * entry here lists it in {@code aether vm --help}.
 */
@Command(name = "vm", mixinStandardHelpOptions = true,
        description = "Run microVMs on this host's KVM.",
        subcommands = VmCommand.Run.class)
final class VmCommand {

    @Command(name = "run", description = "Boot a microVM and attach its serial console to this terminal"
            + " (see: aether vm run --help).")
    static final class Run implements Callable<Integer> {
        @Unmatched
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() throws InterruptedException {
            return VmRunCommand.run(args);
        }
    }
}
