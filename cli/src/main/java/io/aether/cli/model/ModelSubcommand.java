package io.aether.cli.model;

import io.aether.security.UntrustedKeyException;
import io.aether.sync.ObjectId;
import io.aether.sync.Repository;
import io.aether.sync.RepositoryException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * Base of the repository commands: holds the options they all take ({@link RepoOptions}), runs
 * {@link #run()} and turns the errors users can cause into one line on stderr
 * ({@code aether model NAME: reason}) and exit status 1.
 */
abstract class ModelSubcommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    RepoOptions repo;

    /** Does the work; returns the exit status. */
    abstract int run() throws IOException;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    @Override
    public final Integer call() {
        try {
            int status = run();
            out().flush();
            return status;
        } catch (RepositoryException | UntrustedKeyException | IllegalArgumentException e) {
            return fail(e.getMessage());
        } catch (UncheckedIOException e) {
            return fail(describe(e.getCause()));
        } catch (IOException e) {
            return fail(describe(e));
        }
    }

    /** Prints a new commit as {@code [BRANCH SHORT-ID] SUBJECT}. */
    void printCommit(Repository r, ObjectId id) throws IOException {
        out().println("[" + r.currentBranch().orElse("detached HEAD") + " " + id.shortHex() + "] " + r.commit(id).subject());
    }

    int fail(String message) {
        out().flush();
        err().println("aether model " + spec.name() + ": " + message);
        err().flush();
        return 1;
    }

    static String describe(IOException e) {
        return switch (e) {
            case NoSuchFileException n -> "no such file: " + n.getFile();
            case AccessDeniedException a -> "permission denied: " + a.getFile();
            case FileAlreadyExistsException f -> f.getFile() + ": " + (f.getReason() != null ? f.getReason() : "already exists");
            default -> e.getMessage() != null ? e.getMessage() : e.toString();
        };
    }
}
