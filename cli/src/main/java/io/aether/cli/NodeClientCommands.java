package io.aether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.common.ByteSize;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code aether node ls|drain|revoke}: clients of a fabric controller's {@code /v1/nodes}, as
 * subcommands of {@code aether node} (which, given no subcommand, runs the node agent).
 */
final class NodeClientCommands {

    private static final ObjectMapper JSON = new ObjectMapper();

    private NodeClientCommands() {
    }

    @Command(name = "ls", mixinStandardHelpOptions = true,
            description = {"List the fabric's nodes: state (ready, draining, revoked), key id (SHA-256 of its ML-DSA-65 key, first 12"
                    + " digits), capacity, what its replicas use, the free and total room of its volume store, and how long ago it last pulled or reported through this controller;"
                    + " then, as pending, the nodes the controller heard on the local network (multicast beacons) that have not joined."
                    + " --json prints {\"nodes\": [...], \"pending\": [...]}."})
    static final class Ls implements Callable<Integer> {
        @Mixin
        JobCommand.ControllerOptions controller;

        @Override
        public Integer call() {
            return JobCommand.attempt("node ls", () -> {
                JsonNode nodes = controller.client().get("/v1/nodes").json(JsonNode.class);
                JsonNode pending = controller.client().get("/v1/nodes/pending").json(JsonNode.class);
                if (controller.json) {
                    ObjectNode both = JSON.createObjectNode();
                    both.set("nodes", nodes.path("nodes"));
                    both.set("pending", pending.path("pending"));
                    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(both));
                    return;
                }
                Instant now = Instant.now();
                List<List<String>> rows = new ArrayList<>();
                rows.add(List.of("NAME", "KEY", "STATE", "CAPACITY", "USED", "VOLUMES FREE", "ALLOCATIONS", "LAST CONTACT"));
                nodes.path("nodes").forEach(n -> rows.add(List.of(n.path("name").asText(), shortKey(n.path("keyId").asText("")),
                        n.path("status").asText().toLowerCase(Locale.ROOT),
                        resources(n.path("vcpus").asInt(), n.path("memory").asLong()),
                        resources(n.path("used").path("vcpus").asInt(), n.path("used").path("memory").asLong()),
                        volumes(n.path("volumes")), n.path("allocations").asText("0"), age(n.path("lastContact").asText(""), now))));
                pending.path("pending").forEach(p -> rows.add(List.of(p.path("name").asText(), shortKey(p.path("keyId").asText("")), "pending",
                        "-", "-", "-", "-", age(p.path("lastSeen").asText(""), now) + ", heard from " + p.path("address").asText())));
                System.out.print(VmClientCommands.table(rows));
            });
        }
    }

    /** {@code 3G of 4G}: the node's volume store as it last reported it; {@code -} before it did. */
    static String volumes(JsonNode space) {
        if (space.isMissingNode()) return "-";
        return new ByteSize(space.path("freeBytes").asLong()) + " of " + new ByteSize(space.path("capacityBytes").asLong());
    }

    /** What the commands about one node have: the controller and the node's name. */
    abstract static class OneNode implements Callable<Integer> {
        @Mixin
        JobCommand.ControllerOptions controller;

        @Parameters(paramLabel = "NODE", description = "The node's name.")
        String name;
    }

    @Command(name = "drain", mixinStandardHelpOptions = true,
            description = {"Drain a node: it takes no new work and its replicas are stopped there and placed on other nodes at once;"
                    + " a replica that fits on no other node is pending, with the reason ('aether job ls'). Draining is kept until"
                    + " the node is revoked."})
    static final class Drain extends OneNode {
        @Override
        public Integer call() {
            return JobCommand.attempt("node drain", () -> {
                controller.client().post("/v1/nodes/" + name + "/drain", null).requireOk();
                System.out.println("Node " + name + " is draining; its replicas move to other nodes.");
            });
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = {"Revoke a node for good: its desired-state pulls and reports are refused (403, logged), its replicas are"
                    + " placed on other nodes, and neither its name nor its key can join again. Recorded as a NODE_REVOKED event."})
    static final class Revoke extends OneNode {
        @Override
        public Integer call() {
            return JobCommand.attempt("node revoke", () -> {
                controller.client().post("/v1/nodes/" + name + "/revoke", null).requireOk();
                System.out.println("Node " + name + " is revoked; its replicas move to other nodes.");
            });
        }
    }

    private static String shortKey(String keyId) {
        return keyId.length() > 12 ? keyId.substring(0, 12) : keyId.isEmpty() ? "-" : keyId;
    }

    private static String resources(int vcpus, long memory) {
        return vcpus + " vCPU, " + new ByteSize(memory);
    }

    /** How long ago {@code iso} was, e.g. {@code 3s ago}; {@code never} when absent. */
    private static String age(String iso, Instant now) {
        if (iso.isEmpty()) return "never";
        try {
            long seconds = Math.max(0, Duration.between(Instant.parse(iso), now).toSeconds());
            if (seconds < 120) return seconds + "s ago";
            if (seconds < 7200) return seconds / 60 + "m ago";
            return seconds / 3600 + "h ago";
        } catch (DateTimeParseException e) {
            return "?";
        }
    }
}
