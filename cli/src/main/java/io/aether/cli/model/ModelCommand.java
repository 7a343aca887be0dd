package io.aether.cli.model;

import picocli.CommandLine.Command;

/** {@code aether model}: versioned, signed model repositories, their sync, and inference. */
@Command(name = "model",
        mixinStandardHelpOptions = true,
        description = "Version, sync and serve AI models.")
public final class ModelCommand {
}
