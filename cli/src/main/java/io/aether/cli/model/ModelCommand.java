package io.aether.cli.model;

import picocli.CommandLine.Command;

/** {@code aether model}: versioned, signed model repositories, their sync, and inference. */
@Command(name = "model",
        mixinStandardHelpOptions = true,
        description = {
            "Version, sync and serve AI models.",
            "",
            "A model repository is a directory whose history lives in .aether/: files are split into content-defined"
                    + " chunks (so a fine-tuned model shares most chunks with its parent), every commit is signed with"
                    + " your ML-DSA-65 key and verified when read, and repositories sync over post-quantum TLS"
                    + " (X25519MLKEM768) moving only the chunks the other side lacks.",
            "",
            "First steps:",
            "  aether model keygen                    # your signing key, once",
            "  aether model init net && cd net && cp ~/net.onnx .",
            "  aether model add . && aether model commit -m 'first version'",
            "  aether model serve-repo /srv/net --init --port 7443   # a server",
            "  aether model access /srv/net --grant ~/.config/aether/keys/identity.pub=write   # on the server",
            "  aether model push https://server:7443 main",
            "  aether model clone https://server:7443 net    # another machine; no key needed with --public-read",
            "  aether model run net@main                     # inference",
            ""},
        subcommands = {
            RepoCommands.Init.class,
            RepoCommands.Add.class,
            RepoCommands.CommitCmd.class,
            RepoCommands.StatusCmd.class,
            RepoCommands.Log.class,
            RepoCommands.Diff.class,
            RepoCommands.Checkout.class,
            RepoCommands.Branch.class,
            RepoCommands.Tag.class,
            RepoCommands.Merge.class,
            RepoCommands.Resolve.class,
            RepoCommands.Rollback.class,
            RepoCommands.Gc.class,
            RepoCommands.Fsck.class,
            KeyCommands.Keygen.class,
            KeyCommands.Trust.class,
            SyncCommands.Push.class,
            SyncCommands.Fetch.class,
            SyncCommands.Pull.class,
            SyncCommands.Clone.class,
            SyncCommands.ServeRepo.class,
            SyncCommands.Access.class,
            ModelRunCommand.class})
public final class ModelCommand {
}
