package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RefWatcherTest {

    private final InferenceRuntime runtime = InferenceRuntime.start(RuntimeConfig.defaults());
    private final InMemorySource source = new InMemorySource();
    private final List<String> log = new ArrayList<>();

    @AfterEach
    void close() {
        runtime.close();
    }

    @Test
    void switchesWhenTheRefMovesAndOnlyThen() throws Exception {
        String v1 = source.put("main", TestModels.scale(1));
        runtime.deploy("s", source, "main");
        RefWatcher watcher = new RefWatcher(runtime, source, "s", "main", log::add);
        assertEquals(Optional.empty(), watcher.pollOnce());

        String v2 = source.put("main", TestModels.scale(2));
        assertEquals(Optional.of(v2), watcher.pollOnce());
        assertEquals(v2, runtime.status("s").orElseThrow().stable().version());
        assertEquals(Optional.empty(), watcher.pollOnce());

        // A switch by hand stands until the ref moves again.
        source.put("old", TestModels.scale(1));
        runtime.switchTo("s", "old");
        assertEquals(Optional.empty(), watcher.pollOnce());
        assertEquals(v1, runtime.status("s").orElseThrow().stable().version());
        assertEquals(List.of("model s: main moved; now serving version " + v2), log);
    }

    @Test
    void aBrokenNewVersionIsReportedOnceAndTheOldKeepsServing() throws Exception {
        String v1 = source.put("main", TestModels.scale(1));
        runtime.deploy("s", source, "main");
        RefWatcher watcher = new RefWatcher(runtime, source, "s", "main", log::add);
        String broken = source.put("main", "not a model".getBytes());
        assertEquals(Optional.empty(), watcher.pollOnce());
        assertEquals(Optional.empty(), watcher.pollOnce());
        assertEquals(v1, runtime.status("s").orElseThrow().stable().version());
        assertEquals(1, log.size(), log.toString());
        assertTrue(log.getFirst().startsWith("model s: main moved to " + broken + " but it was refused; still serving "
                + v1), log.getFirst());
        String v3 = source.put("main", TestModels.scale(3));
        assertEquals(Optional.of(v3), watcher.pollOnce());
    }
}
