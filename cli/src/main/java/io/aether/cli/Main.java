package io.aether.cli;

import io.aether.cli.model.ModelCommand;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code aether} command: one entry point, a subcommand per area. */
@Command(name = "aether",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {
            "Aether EdgeCloud: isolated workloads and AI models on fleets of edge machines.",
            ""})
public final class Main {

    /**
     * The top-level commands. picocli inspects a command's whole tree when it is added, which
     * costs a few hundred milliseconds for the larger ones, so only the command named on the
     * command line is added (all of them for help and errors). A holder class: {@code vm run}
     * never touches picocli, not even to link these constructors.
     */
    private static final class Commands {
        static final Map<String, Supplier<Object>> ALL = new LinkedHashMap<>();

        static {
            ALL.put("demo", DemoCommand::new);
            ALL.put("vm", VmCommand::new);
            ALL.put("guest", GuestCommand::new);
            ALL.put("model", ModelCommand::new);
            ALL.put("help", CommandLine.HelpCommand::new);
        }
    }

    public static void main(String[] args) {
        int status = run(args);
        if (isMonitor(args) && !VmRunCommand.signalled()) {
            // System.exit first asks for a System.Logger to log the call, a ServiceLoader scan that
            // opens every jar on the class path: about 30 ms, a sixth of a stub VM's whole run.
            // The monitor has already closed its VM and removed its hook; nothing else is pending.
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(status);
        }
        System.exit(status);
    }

    private static boolean isMonitor(String[] args) {
        return args.length >= 2 && args[0].equals("vm") && args[1].equals("run");
    }

    /** Runs the command line and returns its exit status (tests call this). */
    public static int run(String... args) {
        // The monitor starts without picocli (see VmRunCommand).
        if (isMonitor(args)) {
            return runMonitor(List.of(args).subList(2, args.length));
        }
        if (args.length >= 3 && args[0].equals("help") && args[1].equals("vm") && args[2].equals("run")) {
            return runMonitor(List.of("--help"));
        }
        CommandLine root = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true);
        Supplier<Object> chosen = args.length > 0 ? Commands.ALL.get(args[0]) : null;
        if (chosen != null && !args[0].equals("help")) {
            root.addSubcommand(args[0], chosen.get());
        } else {
            Commands.ALL.forEach((name, command) -> root.addSubcommand(name, command.get()));
        }
        return root.execute(args);
    }

    private static int runMonitor(List<String> args) {
        try {
            return VmRunCommand.run(args);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"aether " + (v == null ? "development build" : v)};
        }
    }
}
