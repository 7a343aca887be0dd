package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.aether.agentapi.AgentClient;
import io.aether.http.ApiClient;
import io.aether.http.Stats;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class RequestWarmUpTest {

    @TempDir
    Path dir;

    @Test
    void theWarmUpRunsTheCreatePathToItsLastCheckAndLeavesNothingBehind() throws Exception {
        Path data = dir.resolve("data");
        // No pool: no warm-up of its own at the start, so this one is the only one.
        try (NodeAgent agent = NodeAgent.start(NodeAgent.Options.defaults(data))) {
            ApiClient api = ApiClient.unix(agent.socket(), Duration.ofSeconds(30));
            Stats before = agent.apiStats();

            // Every round refused as the held name's conflict: each ran every check a create makes before its folder.
            assertEquals(40, agent.warmUpRequestPath(40));

            assertEquals(before, agent.apiStats(), "the API's own counters are untouched");
            assertEquals(List.of(), new AgentClient(api).list().vms(), "no VM");
            try (Stream<Path> folders = Files.list(data.resolve("vms"))) {
                assertEquals(List.of(), folders.toList(), "no VM folder");
            }
            assertFalse(Files.exists(data.resolve(RequestWarmUp.SOCKET), LinkOption.NOFOLLOW_LINKS), "the warm-up's socket is removed");
            assertEquals(List.of(), agent.events().after(0), "no event");
        }
    }
}
