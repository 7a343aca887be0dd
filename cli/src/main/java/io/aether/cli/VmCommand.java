package io.aether.cli;

import io.aether.monitor.MonitorCommand;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * {@code aether vm}: the microVM monitor, and the clients of a node agent ({@link VmClientCommands}).
 * {@code run} and {@code monitor} have their own parsers ({@link VmRunCommand}, {@link MonitorCommand}); {@link Main} hands them over
 * before picocli starts, and the entries here list them in {@code aether vm --help}.
 */
@Command(name = "vm", mixinStandardHelpOptions = true,
        description = {"Run microVMs on this host's KVM: 'run' and 'monitor' here, the rest",
            "through a node agent ('aether node'; --node names its socket)."},
        subcommands = {VmCommand.Run.class, VmCommand.Monitor.class, VmClientCommands.Create.class, VmClientCommands.Ls.class,
            VmClientCommands.Start.class, VmClientCommands.Pause.class, VmClientCommands.Resume.class, VmClientCommands.Stop.class,
            VmClientCommands.Rm.class, VmClientCommands.Logs.class, VmClientCommands.Console.class, VmClientCommands.Snapshot.class,
            VmClientCommands.Restore.class, VmTop.class})
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

    @Command(name = "monitor", description = "Run a microVM in the background, controlled through a Unix socket"
            + " (see: aether vm monitor --help).")
    static final class Monitor implements Callable<Integer> {
        @Unmatched
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() throws InterruptedException {
            return MonitorCommand.run(args);
        }
    }
}
