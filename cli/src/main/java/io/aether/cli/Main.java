package io.aether.cli;

import io.aether.cli.model.ModelCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code aether} command: one entry point, a subcommand per area. */
@Command(name = "aether",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {
            "Aether EdgeCloud: isolated workloads and AI models on fleets of edge machines.",
            ""},
        subcommands = {
            VmCommand.class,
            GuestCommand.class,
            ModelCommand.class,
            CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit status (tests call this). */
    public static int run(String... args) {
        return new CommandLine(new Main())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"aether " + (v == null ? "development build" : v)};
        }
    }
}
