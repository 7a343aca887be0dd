package io.aether.cli;

import io.aether.cli.model.ModelCommand;
import java.util.LinkedHashMap;
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
     * costs a few hundred milliseconds for the larger ones; a monitor must start fast, so only
     * the command named on the command line is added (all of them for help and errors).
     */
    private static final Map<String, Supplier<Object>> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("demo", DemoCommand::new);
        COMMANDS.put("vm", VmCommand::new);
        COMMANDS.put("guest", GuestCommand::new);
        COMMANDS.put("model", ModelCommand::new);
        COMMANDS.put("help", CommandLine.HelpCommand::new);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit status (tests call this). */
    public static int run(String... args) {
        CommandLine root = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true);
        Supplier<Object> chosen = args.length > 0 ? COMMANDS.get(args[0]) : null;
        if (chosen != null && !args[0].equals("help")) {
            root.addSubcommand(args[0], chosen.get());
        } else {
            COMMANDS.forEach((name, command) -> root.addSubcommand(name, command.get()));
        }
        return root.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"aether " + (v == null ? "development build" : v)};
        }
    }
}
