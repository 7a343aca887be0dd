package io.aether.sync;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A merge waiting for conflicts to be resolved: {@code MERGE_HEAD} (the commit being merged in)
 * and {@code MERGE_CONFLICTS} (one {@code path<TAB>reason} line per unresolved path).
 *
 * @param theirs    the commit being merged
 * @param conflicts unresolved paths with why
 */
record MergeState(ObjectId theirs, Map<String, String> conflicts) {

    private static final String CONFLICTS_FILE = "MERGE_CONFLICTS";

    MergeState {
        conflicts = new TreeMap<>(conflicts);
    }

    static MergeState read(Repository repo) throws IOException {
        Optional<ObjectId> theirs = repo.refs.readSpecial("MERGE_HEAD");
        if (theirs.isEmpty()) {
            return null;
        }
        Map<String, String> conflicts = new TreeMap<>();
        Path f = repo.storeDir().resolve(CONFLICTS_FILE);
        List<String> lines;
        try {
            lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            lines = List.of();
        }
        for (String line : lines) {
            int tab = line.indexOf('\t');
            if (tab <= 0 || Paths.problem(line.substring(0, tab)) != null) {
                throw new RepositoryException(f + " is corrupt at '" + line + "'");
            }
            conflicts.put(line.substring(0, tab), line.substring(tab + 1));
        }
        return new MergeState(theirs.get(), conflicts);
    }

    void write(Repository repo) throws IOException {
        StringBuilder sb = new StringBuilder();
        conflicts.forEach((p, why) -> sb.append(p).append('\t').append(why.replace('\n', ' ')).append('\n'));
        AtomicFiles.replace(repo.tmpDir(), repo.storeDir().resolve(CONFLICTS_FILE), sb.toString().getBytes(StandardCharsets.UTF_8));
        repo.refs.writeSpecial("MERGE_HEAD", theirs);
    }

    static void clear(Repository repo) throws IOException {
        repo.refs.writeSpecial("MERGE_HEAD", null);
        Files.deleteIfExists(repo.storeDir().resolve(CONFLICTS_FILE));
    }
}
