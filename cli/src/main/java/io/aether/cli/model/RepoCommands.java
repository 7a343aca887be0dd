package io.aether.cli.model;

import io.aether.sync.Commit;
import io.aether.sync.FileChange;
import io.aether.sync.FsckResult;
import io.aether.sync.GcResult;
import io.aether.sync.MergeResult;
import io.aether.sync.ObjectId;
import io.aether.sync.Repository;
import io.aether.sync.Resolution;
import io.aether.sync.Status;
import io.aether.sync.TensorChange;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The local repository commands of {@code aether model}. */
final class RepoCommands {

    private RepoCommands() {
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = {"Create an empty model repository.", "",
                "The history is kept in DIR/.aether/ (objects, refs, the staging index). With --bare, DIR itself is"
                        + " the store and there is no working directory: what a server holds (see serve-repo).", "",
                "Example:", "  aether model init models/resnet", ""})
    static final class Init extends ModelSubcommand {
        @Parameters(index = "0", arity = "0..1", paramLabel = "DIR", description = "Directory (default: the current one).")
        String dir;

        @Option(names = "--bare", description = "Create a bare repository (no working directory).")
        boolean bare;

        @Override
        int run() throws IOException {
            Path d = repo.path(dir == null ? "." : dir);
            Repository r = bare ? Repository.initBare(d, repo.trust()) : Repository.init(d, repo.trust());
            out().println("Initialized empty " + (bare ? "bare " : "") + "model repository in " + r.storeDir());
            return 0;
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = {"Stage files for the next commit.", "",
                "Each file is split into content-defined chunks (16-256 KiB, about 64 KiB), stored once by their"
                        + " SHA-256. A directory (for example '.') stages everything under it, including deletions."
                        + " Symbolic links are not tracked.", "",
                "Prints each file whose staged version changed (added, modified, deleted) and a count.", "",
                "Examples:", "  aether model add model.onnx config.json", "  aether model add .", ""})
    static final class Add extends ModelSubcommand {
        @Parameters(arity = "1..*", paramLabel = "PATH", description = "Files or directories to stage.")
        List<String> paths;

        @Override
        int run() throws IOException {
            Repository r = repo.open();
            List<String> abs = new ArrayList<>();
            for (String p : paths) {
                abs.add(repo.path(p).toString());
            }
            List<Status.Change> changes = r.add(abs);
            if (changes.isEmpty()) {
                out().println("Nothing new to stage: the staged files already match " + String.join(" ", paths));
                return 0;
            }
            Map<Status.Kind, Integer> counts = new EnumMap<>(Status.Kind.class);
            for (Status.Change c : changes) {
                out().println("  " + c.kind().label() + ": " + c.path());
                counts.merge(c.kind(), 1, Integer::sum);
            }
            List<String> summary = new ArrayList<>();
            counts.forEach((k, n) -> summary.add(n + " " + k.label()));
            out().println("Staged " + changes.size() + " file(s): " + String.join(", ", summary)
                    + "; record them with 'aether model commit -m MESSAGE'");
            return 0;
        }
    }

    @Command(name = "commit", mixinStandardHelpOptions = true,
            description = {"Record the staged files as a new signed commit.", "",
                "The commit is signed with your ML-DSA-65 key (see keygen); readers verify the signature and refuse"
                        + " keys they do not trust. During a merge, commit finishes it once every conflict is resolved.",
                "", "Example:", "  aether model commit -m 'fine-tune on the March data'", ""})
    static final class CommitCmd extends ModelSubcommand {
        @Option(names = {"-m", "--message"}, required = true, paramLabel = "TEXT", description = "The commit message.")
        String message;

        @Override
        int run() throws IOException {
            Repository r = repo.open();
            printCommit(r, r.commit(message, repo.identity()));
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"Show the branch, staged and unstaged changes, untracked files, and merge conflicts.", ""})
    static final class StatusCmd extends ModelSubcommand {
        @Override
        int run() throws IOException {
            Status st = repo.open().status();
            PrintWriter o = out();
            o.println(st.branch() != null ? "On branch " + st.branch() : "HEAD detached at " + st.head().shortHex());
            if (st.head() == null) {
                o.println("No commits yet");
            }
            if (st.merging()) {
                o.println(st.conflicts().isEmpty() ? "Merge in progress: all conflicts resolved; run 'aether model commit'"
                        : "Merge in progress; unresolved conflicts (use 'aether model resolve PATH --ours|--theirs|--file F'):");
                st.conflicts().forEach((p, why) -> o.println("  conflict: " + p + " (" + why + ")"));
            }
            section(o, "Staged for commit:", st.staged());
            section(o, "Changed but not staged (use 'aether model add'):", st.unstaged());
            if (!st.untracked().isEmpty()) {
                o.println("Untracked files:");
                st.untracked().forEach(p -> o.println("  " + p));
            }
            if (st.clean() && st.untracked().isEmpty() && !st.merging()) {
                o.println("Nothing to commit, working directory clean");
            }
            return 0;
        }

        private static void section(PrintWriter o, String title, List<Status.Change> changes) {
            if (!changes.isEmpty()) {
                o.println(title);
                changes.forEach(c -> o.println("  " + c.kind().label() + ": " + c.path()));
            }
        }
    }

    @Command(name = "log", mixinStandardHelpOptions = true,
            description = {"Show the history of a ref, newest first, with each commit's verified author key.", "",
                "Examples:", "  aether model log", "  aether model log v2 -n 5", ""})
    static final class Log extends ModelSubcommand {
        @Parameters(index = "0", arity = "0..1", paramLabel = "REF", description = "Where to start (default: HEAD).")
        String ref;

        @Option(names = {"-n", "--max-count"}, paramLabel = "N", description = "Show at most N commits (default: all).")
        int max = Integer.MAX_VALUE;

        @Override
        int run() throws IOException {
            Repository r = repo.open();
            for (Commit c : r.log(r.resolve(ref == null ? "HEAD" : ref), max)) {
                out().println("commit " + c.id().hex() + (c.parents().size() > 1 ? " (merge)" : ""));
                out().println("Author: key " + c.author().shortHex() + " (ML-DSA-65 signature verified)");
                out().println("Date:   " + Formats.TIME.format(c.time()));
                out().println();
                for (String line : c.message().split("\n", -1)) {
                    out().println("    " + line);
                }
                out().println();
            }
            return 0;
        }
    }

    @Command(name = "diff", mixinStandardHelpOptions = true,
            description = {"Show which files changed between two versions, and for ONNX models which weight tensors.",
                "", "With no REF the comparison is HEAD against the working directory; with one, REF against the"
                        + " working directory; with two, FROM against TO. For each modified file it shows how much of"
                        + " the new version sits in chunks the old one already has (what a sync does not move).", "",
                "Examples:", "  aether model diff", "  aether model diff v1 v2", ""})
    static final class Diff extends ModelSubcommand {
        @Parameters(index = "0", arity = "0..1", paramLabel = "FROM", description = "Older version (default: HEAD).")
        String from;

        @Parameters(index = "1", arity = "0..1", paramLabel = "TO", description = "Newer version (default: the working directory).")
        String to;

        @Override
        int run() throws IOException {
            Repository r = repo.open();
            ObjectId a = r.resolve(from == null ? "HEAD" : from);
            ObjectId b = to == null ? null : r.resolve(to);
            List<FileChange> changes = r.diff(a, b);
            if (changes.isEmpty()) {
                out().println("No differences");
            }
            for (FileChange f : changes) {
                switch (f.kind()) {
                    case ADDED -> out().println("A " + f.path() + "  (" + Formats.bytes(f.newSize()) + ")");
                    case DELETED -> out().println("D " + f.path() + "  (" + Formats.bytes(f.oldSize()) + ")");
                    case MODIFIED -> {
                        double pct = f.newSize() == 0 ? 0 : 100.0 * f.sharedBytes() / f.newSize();
                        out().println(String.format(Locale.ROOT, "M %s  (%s -> %s, %.1f%% in unchanged chunks)",
                                f.path(), Formats.bytes(f.oldSize()), Formats.bytes(f.newSize()), pct));
                        for (TensorChange t : f.tensors()) {
                            switch (t.kind()) {
                                case ADDED -> out().println("    + tensor " + t.name() + "  " + t.after());
                                case REMOVED -> out().println("    - tensor " + t.name() + "  " + t.before());
                                case CHANGED -> out().println("    ~ tensor " + t.name() + "  " + t.before() + " -> " + t.after());
                            }
                        }
                        if (f.note() != null) {
                            out().println("    (" + f.note() + ")");
                        }
                    }
                }
            }
            return 0;
        }
    }

    @Command(name = "checkout", mixinStandardHelpOptions = true,
            description = {"Switch to a branch, tag or commit: restore its files in the working directory.", "",
                "Refuses when tracked files have uncommitted changes or an untracked file would be overwritten,"
                        + " unless --force. A branch name moves HEAD onto the branch; a tag or commit id detaches it."
                        + " With -b NAME, creates branch NAME at REF (default: the current commit) and switches to it.",
                "", "Examples:", "  aether model checkout v1", "  aether model checkout -b experiment",
                "  aether model checkout -b hotfix v1", ""})
    static final class Checkout extends ModelSubcommand {
        @Parameters(index = "0", arity = "0..1", paramLabel = "REF", description = "Branch, tag, commit id or prefix"
                + " (with -b: where the new branch starts).")
        String ref;

        @Option(names = "-b", paramLabel = "NAME", description = "Create branch NAME at REF (default: the current commit)"
                + " and switch to it.")
        String newBranch;

        @Option(names = {"-f", "--force"}, description = "Discard local changes to tracked files.")
        boolean force;

        @Override
        int run() throws IOException {
            Repository r = repo.open();
            if (newBranch != null) {
                r.checkoutNewBranch(newBranch, ref, force);
                out().println("Switched to a new branch '" + newBranch + "'"
                        + r.head().map(h -> " at " + h.shortHex()).orElse(""));
                return 0;
            }
            if (ref == null) {
                throw new IllegalArgumentException("missing REF (a branch, tag or commit) or -b NAME");
            }
            r.checkout(ref, force);
            Optional<String> b = r.currentBranch();
            out().println(b.isPresent() ? "Switched to branch '" + b.get() + "'"
                    : "HEAD is now at " + r.head().orElseThrow().shortHex() + " (detached)");
            return 0;
        }
    }

    @Command(name = "branch", mixinStandardHelpOptions = true,
            description = {"List, create or delete branches.", "",
                "Examples:", "  aether model branch", "  aether model branch experiment v1", "  aether model branch -d experiment", ""})
    static final class Branch extends ModelSubcommand {
        @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "Branch to create.")
        String name;

        @Parameters(index = "1", arity = "0..1", paramLabel = "START", description = "Where it starts (default: HEAD).")
        String start;

        @Option(names = {"-d", "--delete"}, paramLabel = "NAME", description = "Delete branch NAME.")
        String delete;

        @Override
        int run() throws IOException {
            Repository r = repo.open();
            if (delete != null) {
                r.deleteBranch(delete);
                out().println("Deleted branch " + delete);
            } else if (name != null) {
                ObjectId at = r.createBranch(name, start == null ? "HEAD" : start);
                out().println("Created branch " + name + " at " + at.shortHex());
            } else {
                String current = r.currentBranch().orElse(null);
                for (Map.Entry<String, ObjectId> e : r.branches().entrySet()) {
                    out().println((e.getKey().equals(current) ? "* " : "  ") + e.getKey() + "  " + e.getValue().shortHex());
                }
            }
            return 0;
        }
    }

    @Command(name = "tag", mixinStandardHelpOptions = true,
            description = {"List, create or delete tags (fixed names for versions, e.g. v1.2).", "",
                "A tag does not move unless --force. Examples:", "  aether model tag v1.0", "  aether model tag", ""})
    static final class Tag extends ModelSubcommand {
        @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "Tag to create.")
        String name;

        @Parameters(index = "1", arity = "0..1", paramLabel = "REF", description = "What it names (default: HEAD).")
        String ref;

        @Option(names = {"-d", "--delete"}, description = "Delete tag NAME.")
        boolean delete;

        @Option(names = {"-f", "--force"}, description = "Move an existing tag.")
        boolean force;

        @Override
        int run() throws IOException {
            Repository r = repo.open();
            if (name == null) {
                r.tags().forEach((k, v) -> out().println(k + "  " + v.shortHex()));
            } else if (delete) {
                r.deleteTag(name);
                out().println("Deleted tag " + name);
            } else {
                ObjectId at = r.createTag(name, ref == null ? "HEAD" : ref, force);
                out().println("Tagged " + at.shortHex() + " as " + name);
            }
            return 0;
        }
    }

    @Command(name = "merge", mixinStandardHelpOptions = true,
            description = {"Merge another branch, tag or commit (for example FETCH_HEAD) into the current branch.", "",
                "Fast-forward when the current branch has not diverged. Otherwise a three-way merge against the"
                        + " common ancestor: files changed on one side are taken, text files are merged line by line,"
                        + " .json files key by key; files changed differently on both sides that cannot be merged"
                        + " (models and other binaries) stop the merge, to be settled with 'resolve' and finished"
                        + " with 'commit'. A clean merge is committed at once, signed by you.", "",
                "Examples:", "  aether model merge feature", "  aether model merge --abort", ""},
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {"0:merged, fast-forwarded or already up to date", "1:conflicts to resolve, or an error"})
    static final class Merge extends ModelSubcommand {
        @Parameters(index = "0", arity = "0..1", paramLabel = "REF", description = "What to merge.")
        String ref;

        @Option(names = "--abort", description = "Abandon the merge in progress and restore HEAD's files.")
        boolean abort;

        @Override
        int run() throws IOException {
            Repository r = repo.open();
            if (abort) {
                r.abortMerge();
                out().println("Merge aborted");
                return 0;
            }
            if (ref == null) {
                throw new IllegalArgumentException("missing REF to merge (or --abort)");
            }
            return report(this, r.merge(ref, repo.identity()));
        }

        static int report(ModelSubcommand cmd, MergeResult m) {
            PrintWriter o = cmd.out();
            m.autoMerged().forEach(p -> o.println("Auto-merged " + p));
            switch (m.kind()) {
                case UP_TO_DATE -> o.println("Already up to date");
                case FAST_FORWARD -> o.println("Fast-forward to " + m.commit().shortHex());
                case MERGED -> o.println("Merged: commit " + m.commit().shortHex());
                case CONFLICTS -> {
                    m.conflicts().forEach((p, why) -> o.println("CONFLICT " + p + ": " + why));
                    return cmd.fail("merge stopped on " + m.conflicts().size() + " conflict(s); resolve each with"
                            + " 'aether model resolve PATH --ours|--theirs|--file F', then 'aether model commit -m ...'"
                            + " (or 'aether model merge --abort')");
                }
            }
            return 0;
        }
    }

    @Command(name = "resolve", mixinStandardHelpOptions = true,
            description = {"Settle one conflicted path of the merge in progress.", "",
                "Text conflicts are marked in the file (<<<<<<< ours ... ======= ... >>>>>>> theirs): edit it and"
                        + " use --file with its own path. Binaries keep our version in the working directory until"
                        + " resolved.", "",
                "Examples:", "  aether model resolve model.onnx --theirs", "  aether model resolve config.json --file config.json", ""})
    static final class Resolve extends ModelSubcommand {
        @Parameters(index = "0", paramLabel = "PATH", description = "The conflicted path.")
        String path;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Choice choice;

        static final class Choice {
            @Option(names = "--ours", description = "Keep the current branch's version.")
            boolean ours;

            @Option(names = "--theirs", description = "Take the merged-in version.")
            boolean theirs;

            @Option(names = "--file", paramLabel = "F", description = "Take the content of file F.")
            String file;
        }

        @Override
        int run() throws IOException {
            Repository r = repo.open();
            Resolution res = choice.ours ? new Resolution.Ours() : choice.theirs ? new Resolution.Theirs()
                    : new Resolution.FromFile(repo.path(choice.file));
            r.resolveConflict(repo.path(path).toString(), res);
            int left = r.conflicts().size();
            out().println("Resolved " + path + (left == 0 ? "; all conflicts resolved, finish with 'aether model commit -m ...'"
                    : "; " + left + " conflict(s) left"));
            return 0;
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = {"Return to an earlier version without rewriting history.", "",
                "Makes a new signed commit on the current branch whose files are exactly those of REF, and restores"
                        + " them in the working directory. Everything after REF stays in the log, so a rollback can"
                        + " itself be rolled back.", "",
                "Examples:", "  aether model rollback v1", "  aether model rollback HEAD~2", ""})
    static final class Rollback extends ModelSubcommand {
        @Parameters(index = "0", paramLabel = "REF", description = "The version to return to.")
        String ref;

        @Override
        int run() throws IOException {
            Repository r = repo.open();
            printCommit(r, r.rollback(ref, repo.identity()));
            return 0;
        }
    }

    @Command(name = "gc", mixinStandardHelpOptions = true,
            description = {"Delete objects nothing refers to, leftover temporary files, and unfinished transfers.", "",
                "Keeps everything reachable from branches, tags, HEAD, FETCH_HEAD, a merge in progress and the staged"
                        + " files. Other aether processes on this repository wait while it runs. An interrupted"
                        + " fetch or push starts over after gc.", ""})
    static final class Gc extends ModelSubcommand {
        @Override
        int run() throws IOException {
            GcResult g = repo.open().gc();
            out().println("Kept " + g.reachable() + " objects; removed " + g.removed() + " unreachable (" + Formats.bytes(g.bytesFreed())
                    + "), " + g.tempFilesRemoved() + " temporary file(s), " + g.incomingRemoved() + " object(s) of unfinished transfers");
            return 0;
        }
    }

    @Command(name = "fsck", mixinStandardHelpOptions = true,
            description = {"Verify the whole repository: every object, every signature, every ref.", "",
                "Reads back every stored object and re-hashes it, verifies every commit's ML-DSA-65 signature against"
                        + " your trust store, reads every branch, tag, HEAD, FETCH_HEAD and the staged files, and checks"
                        + " that everything they reach is present and what it should be. Reading, checkout and sync"
                        + " check only the objects they touch (an up-to-date pull reads nothing), so this is how to"
                        + " find damage at rest. Prints one line per problem, naming the object and the ref that"
                        + " reaches it.", "",
                "Example:", "  aether model fsck", ""},
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {"0:no problems", "1:problems found (one line each on stdout), or an error"})
    static final class Fsck extends ModelSubcommand {
        @Override
        int run() throws IOException {
            FsckResult f = repo.open().fsck();
            f.problems().forEach(p -> out().println(p.line()));
            String checked = "checked " + f.objects() + " objects (" + f.commits() + " commit signatures verified) from "
                    + f.refs() + " ref(s)";
            if (!f.ok()) {
                return fail(f.problems().size() + " problem(s) found; " + checked);
            }
            out().println("No problems: " + checked);
            return 0;
        }
    }
}
