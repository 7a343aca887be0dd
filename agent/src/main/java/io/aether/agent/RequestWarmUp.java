package io.aether.agent;

import io.aether.agentapi.AgentClient;
import io.aether.agentapi.RestartPolicy;
import io.aether.http.ApiClient;
import io.aether.http.HttpServer;
import io.aether.http.Limits;
import io.aether.http.Listener;
import io.aether.http.Router;
import io.aether.monitorapi.ControlCodec;
import io.aether.monitorapi.ControlRequest;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The agent's own warm-up of the create request's path, for an agent that keeps a warm pool (whose
 * point is a fast start). An agent creates VMs too seldom for the JIT to compile that path, and
 * each create ran parts of it for the first time: traced, 3.2 ms went from the client's request to
 * the agent's first step (docs/BENCHMARKS.md (d)). Here creates of a stub VM go to the agent's own
 * routes over a Unix socket of their own, each named as a VM whose name the warm-up holds
 * ({@link Node#holdFreshName}): it runs the client's encoding, the HTTP server's parsing and
 * hand-off, the body's read and binding, the spec's checks and the quota, and is refused as a
 * conflict before anything is made; then what a start goes on to encode (the folder's files, the
 * launch's line to a standby) is encoded and dropped. Nothing is left behind: no VM, folder or
 * event, and the API's own counters untouched (the warm-up's server is another one, removed after).
 */
final class RequestWarmUp {

    private static final Logger LOG = Logger.getLogger(RequestWarmUp.class.getName());

    /** Rounds at an agent's start: enough for the JIT's first tier (its thresholds are a few hundred calls). */
    static final int ROUNDS = 250;
    /** The warm-up's socket, in the data directory. */
    static final String SOCKET = "warm-up.sock";
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private RequestWarmUp() {
    }

    /**
     * Sends {@code rounds} creates to {@code routes} served on {@code socket}; returns how many
     * were refused as the held name's conflict. It stops early, with fewer, at any other answer,
     * once {@code stopping} says so (the agent closing), or when the socket cannot be served.
     */
    static int run(Router routes, Node node, Path socket, int rounds, BooleanSupplier stopping) {
        String name = node.holdFreshName();
        try (HttpServer server = HttpServer.start(List.of(new Listener.UnixSocket(socket)), routes, Limits.DEFAULTS)) {
            AgentClient client = new AgentClient(ApiClient.unix(socket, TIMEOUT));
            VmSpec stub = VmSpec.stub(VmSpec.StubProgram.ECHO);
            // Node.create's answer to a name taken: any other refusal stopped the path before its last check.
            String heldConflict = ": a VM named " + name + " exists";
            VmRecord record = new VmRecord(name, Map.of(), RestartPolicy.NEVER.id(), "running", "created", null, null, 0, null, null);
            ControlRequest.Launch launch = new ControlRequest.Launch(stub, Optional.of(socket), Optional.of(socket));
            for (int i = 0; i < rounds; i++) {
                if (stopping.getAsBoolean()) return i;
                try {
                    client.create(stub, Map.of(), RestartPolicy.NEVER, name, true);
                    // Cannot happen while the name is held; a VM made would be the user's to see.
                    LOG.warning("the request path's warm-up created VM " + name + ": its name was not held");
                    return i;
                } catch (IOException e) {
                    String why = String.valueOf(e.getMessage());
                    if (!why.startsWith("409 ") || !why.endsWith(heldConflict)) {
                        LOG.log(Level.INFO, "the request path's warm-up stopped after " + i + " rounds: " + e);
                        return i;
                    }
                }
                // What a start goes on to encode after the checks: the folder's files, the launch's line to a standby.
                VmSpecJson.write(stub);
                DataDir.json(record);
                ControlCodec.write(launch);
            }
            return rounds;
        } catch (IOException e) {
            LOG.log(Level.INFO, "the request path's warm-up did not run: " + e);
            return 0;
        } finally {
            node.releaseName(name);
        }
    }
}
