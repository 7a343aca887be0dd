package io.aether.cli.model;

import io.aether.security.AetherHome;
import io.aether.security.Identity;
import io.aether.security.TrustStore;
import io.aether.sync.Repository;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** Options every repository command shares: where the repository and the user's keys are. */
final class RepoOptions {

    @Option(names = {"-C", "--repo"}, paramLabel = "DIR",
            description = "Work in DIR instead of the current directory (the repository is DIR or the nearest"
                    + " directory above it holding .aether/).")
    Path dir;

    @Option(names = "--home", paramLabel = "DIR",
            description = "Where your keys, trusted keys and pinned servers live (default: $AETHER_HOME, else"
                    + " ~/.config/aether).")
    Path home;

    AetherHome home() {
        return home != null ? new AetherHome(home) : AetherHome.resolve();
    }

    /** The working directory paths are relative to. */
    Path base() {
        return (dir != null ? dir : Path.of("")).toAbsolutePath().normalize();
    }

    /** Resolves a user's path argument against {@link #base()}. */
    Path path(String arg) {
        return base().resolve(arg).normalize();
    }

    TrustStore trust() throws IOException {
        return TrustStore.at(home().trustDir());
    }

    Repository open() throws IOException {
        return Repository.find(base(), trust());
    }

    Identity identity() throws IOException {
        return Identity.load(home());
    }

    /** The user's key when there is one: it signs requests to servers, but reading needs none. */
    Optional<Identity> identityIfPresent() throws IOException {
        return Files.exists(home().privateKeyFile()) ? Optional.of(identity()) : Optional.empty();
    }
}
