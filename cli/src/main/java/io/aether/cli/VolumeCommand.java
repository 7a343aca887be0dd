package io.aether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agentapi.VolumeInfo;
import io.aether.agentapi.VolumeList;
import io.aether.common.ByteSize;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code aether volume create|ls|rm}: a node's volumes, sparse disk images that outlive the VMs using them. */
@Command(name = "volume", mixinStandardHelpOptions = true,
        description = {"Manage a node's volumes: sparse raw disk images kept under the agent's data directory, attached to",
            "VMs as virtio disks ('aether vm create --volume NAME[:ro]'). A volume's data outlives its VMs; its size counts",
            "whole against the node's volume capacity ('aether node --volume-capacity').", "",
            "Examples:",
            "  aether volume create data --size 1G --label job=web",
            "  aether volume ls",
            "  aether vm create --spec vm.json --volume data",
            "  aether volume rm data",
            "  aether volume ls --controller ~/.local/share/aether/controller/controller.sock",
            "  aether volume rm db.0.data --controller ~/.local/share/aether/controller/controller.sock", "",
            "With --controller, the fabric's job volumes instead: each replica's volumes of a job spec's \"volumes\", bound to the",
            "node the replica was first placed on (ID job.replica.name, state attached, detached or stopped). A stopped job's",
            "volumes stay, counted, until deleted here or with 'aether job stop --purge-volumes'.", ""},
        subcommands = {VolumeCommand.Create.class, VolumeCommand.Ls.class, VolumeCommand.Rm.class})
final class VolumeCommand {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a volume on the node.")
    static final class Create implements Callable<Integer> {
        @Mixin
        VmClientCommands.NodeOptions node;

        @Parameters(paramLabel = "NAME", description = "The volume's name (letters, digits, '.', '_', '-').")
        String name;

        @Option(names = "--size", paramLabel = "SIZE", required = true, description = "Its size in whole MiB: 512M, 10G.")
        String size;

        @Option(names = "--label", paramLabel = "KEY=VALUE", description = "A label, such as the job or tenant it belongs to; repeatable.")
        List<String> labels = new ArrayList<>();

        @Override
        public Integer call() {
            return VmClientCommands.attemptAs("aether volume create", () -> {
                Map<String, String> labelMap = new LinkedHashMap<>();
                for (String l : labels) {
                    int eq = l.indexOf('=');
                    if (eq < 1) throw new IllegalArgumentException("--label: '" + l + "' is not KEY=VALUE");
                    labelMap.put(l.substring(0, eq), l.substring(eq + 1));
                }
                VolumeInfo v = node.client().createVolume(name, size, labelMap);
                print(node, List.of(v), null);
            });
        }
    }

    /** Where the fabric's job volumes are asked for instead of the node's: a controller. */
    static final class FabricOptions {
        @Option(names = "--controller", paramLabel = "SOCKET|HOST:PORT",
                description = "A fabric controller's API socket, or HOST:PORT of its TLS listener: its job volumes instead of the node's volumes.")
        String controller;

        @Option(names = "--identity", paramLabel = "DIR", description = "The client identity for --controller HOST:PORT (default: AETHER_HOME/client).")
        Path identity;
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List the node's volumes and its volume capacity, or with --controller the fabric's job volumes.")
    static final class Ls implements Callable<Integer> {
        @Mixin
        VmClientCommands.NodeOptions node;

        @Mixin
        FabricOptions fabric;

        @Override
        public Integer call() {
            return VmClientCommands.attemptAs("aether volume ls", () -> {
                if (fabric.controller != null) {
                    printJobVolumes(node.json, JobCommand.ControllerOptions.connect(fabric.controller, fabric.identity).get("/v1/volumes").json(JsonNode.class));
                    return;
                }
                VolumeList list = node.client().volumes();
                print(node, list.volumes(), list);
            });
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = {"Delete a volume and its data (refused while a VM has it attached);",
        "with --controller, a stopped job's volume by its ID (refused while its job runs)."})
    static final class Rm implements Callable<Integer> {
        @Mixin
        VmClientCommands.NodeOptions node;

        @Mixin
        FabricOptions fabric;

        @Parameters(paramLabel = "NAME", description = "The volume (with --controller: its ID, job.replica.name).")
        String name;

        @Override
        public Integer call() {
            return VmClientCommands.attemptAs("aether volume rm", () -> {
                if (fabric.controller != null) {
                    JobCommand.ControllerOptions.connect(fabric.controller, fabric.identity).send("DELETE", "/v1/volumes/" + name, null).requireOk();
                    System.out.println("Volume " + name + " deleted; its node deletes the image and has the room again.");
                    return;
                }
                node.client().deleteVolume(name);
            });
        }
    }

    private static void printJobVolumes(boolean json, JsonNode answer) throws java.io.IOException {
        if (json) {
            System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(answer));
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("ID", "JOB", "NODE", "SIZE", "STATE"));
        for (JsonNode v : answer.path("volumes")) {
            rows.add(List.of(v.path("id").asText(), v.path("job").asText(), v.path("node").asText(), new ByteSize(v.path("size").asLong()).toString(),
                    v.path("state").asText()));
        }
        System.out.print(VmClientCommands.table(rows));
        System.out.flush();
    }

    private static void print(VmClientCommands.NodeOptions node, List<VolumeInfo> volumes, VolumeList whole) throws java.io.IOException {
        if (node.json) {
            Object body = whole != null ? whole : volumes.getFirst();
            System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(body));
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("NAME", "SIZE", "ATTACHED TO", "CREATED", "LABELS"));
        for (VolumeInfo v : volumes) {
            rows.add(List.of(v.name(), new ByteSize(v.sizeBytes()).toString(), v.attachedTo().isEmpty() ? "-" : String.join(",", v.attachedTo()),
                    v.createdAt(), v.labels().isEmpty() ? "-" : new TreeMap<>(v.labels()).entrySet().stream()
                            .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(","))));
        }
        System.out.print(VmClientCommands.table(rows));
        if (whole != null) {
            System.out.println(new ByteSize(whole.provisionedBytes()) + " of " + new ByteSize(whole.capacityBytes()) + " volume capacity provisioned");
        }
        System.out.flush();
    }
}
