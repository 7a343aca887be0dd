package io.aether.cli;

import io.aether.cli.model.ModelCommand;
import io.aether.monitor.MonitorCommand;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
            ALL.put("node", NodeCommand::new);
            ALL.put("guest", GuestCommand::new);
            ALL.put("model", ModelCommand::new);
            ALL.put("controller", ControllerCommand::new);
            ALL.put("up", UpCommand::new);
            ALL.put("job", JobCommand::new);
            ALL.put("token", TokenCommand::new);
            ALL.put("client", ClientCommand::new);
            ALL.put("volume", VolumeCommand::new);
            ALL.put("help", CommandLine.HelpCommand::new);
        }
    }

    public static void main(String[] args) {
        int status = run(args);
        if (isMonitor(args) && !VmRunCommand.signalled() && !MonitorCommand.signalled()) {
            // System.exit first asks for a System.Logger to log the call, a ServiceLoader scan that
            // opens every jar on the class path: about 30 ms, a sixth of a stub VM's whole run.
            // The monitor has already closed its VM and removed its hook; nothing else is pending.
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(status);
        }
        System.exit(status);
    }

    /** {@code vm run} and {@code vm monitor}: the commands that run a VM, started without picocli. */
    private static boolean isMonitor(String[] args) {
        return args.length >= 2 && args[0].equals("vm") && (args[1].equals("run") || args[1].equals("monitor"));
    }

    /** Runs the command line and returns its exit status (tests call this). */
    public static int run(String... args) {
        // The monitor starts without picocli (see VmRunCommand).
        if (isMonitor(args)) {
            return runMonitor(args[1], List.of(args).subList(2, args.length));
        }
        if (args.length >= 3 && args[0].equals("help") && args[1].equals("vm") && (args[2].equals("run") || args[2].equals("monitor"))) {
            return runMonitor(args[2], List.of("--help"));
        }
        // picocli would print the whole usage for an unknown command, and with --help anywhere
        // after it, exit 0 as if the command existed.
        String unknown = unknownCommand(args);
        if (unknown != null) {
            String suggestion = closestCommand(unknown).map(c -> "; did you mean '" + c + "'?").orElse("");
            System.err.println("aether: unknown command '" + unknown + "'" + suggestion + " (see 'aether --help')");
            return VmRunCommand.STATUS_BAD_ARGUMENTS;
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

    /** The command named first (or after {@code help}) when it is not one of ours; null otherwise. */
    private static String unknownCommand(String[] args) {
        int at = args.length > 1 && args[0].equals("help") ? 1 : 0;
        if (args.length <= at || args[at].startsWith("-") || Commands.ALL.containsKey(args[at])) return null;
        return args[at];
    }

    /** The command within two edits (fewer than the word's length) of {@code word}, if one is. */
    static Optional<String> closestCommand(String word) {
        String best = null;
        int bestDistance = Math.min(3, word.length());
        for (String name : Commands.ALL.keySet()) {
            int d = editDistance(word, name);
            if (d < bestDistance) {
                best = name;
                bestDistance = d;
            }
        }
        return Optional.ofNullable(best);
    }

    /** Insertions, deletions and substitutions that turn {@code a} into {@code b}. */
    static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) previous[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    private static int runMonitor(String command, List<String> args) {
        try {
            return command.equals("run") ? VmRunCommand.run(args) : MonitorCommand.run(args);
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
