package io.aether.agentapi;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.http.ApiClient;
import io.aether.http.Event;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The node agent's client: one method per route, answers as records, every refusal an
 * {@link IOException} saying {@code 409 conflict: ...} as the agent put it.
 *
 * <pre>
 *   AgentClient node = new AgentClient(ApiClient.unix(Path.of("/var/lib/aether/node/node.sock"), Duration.ofSeconds(30)));
 *   VmInfo vm = node.create(VmSpec.stub(VmSpec.StubProgram.COUNT), Map.of(), RestartPolicy.NEVER, "counter", true);
 *   node.pause("counter");
 * </pre>
 */
public final class AgentClient {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final ApiClient api;

    public AgentClient(ApiClient api) {
        this.api = Objects.requireNonNull(api, "api");
    }

    /** Creates a VM, started at once when {@code start}; {@code id} null lets the agent name it. */
    public VmInfo create(VmSpec spec, Map<String, String> labels, RestartPolicy policy, String id, boolean start) throws IOException {
        return create(spec, labels, policy, id, start, List.of());
    }

    /** Creates a VM with node volumes attached after its spec's disks. */
    public VmInfo create(VmSpec spec, Map<String, String> labels, RestartPolicy policy, String id, boolean start,
                         List<VolumeAttachment> volumes) throws IOException {
        CreateVm body = new CreateVm(MAPPER.readTree(VmSpecJson.write(spec)), labels, policy.id(), id, start, null, null, volumes);
        return api.post("/v1/vms", body).json(VmInfo.class);
    }

    /** Creates VM {@code id} (null: the agent names it) from snapshot {@code snapshot} of VM {@code vm}, running at once. */
    public VmInfo restore(String vm, String snapshot, boolean allowClone, String id) throws IOException {
        CreateVm body = new CreateVm(null, Map.of(), null, id, true, null, new CreateVm.Restore(vm, snapshot, allowClone), null);
        return api.post("/v1/vms", body).json(VmInfo.class);
    }

    /** Writes snapshot {@code name} of the VM; it goes on afterwards when {@code resume}, else stays paused. */
    public SnapshotInfo snapshot(String id, String name, boolean resume) throws IOException {
        return api.post(vm(id) + "/snapshot", new TakeSnapshot(name, resume)).json(SnapshotInfo.class);
    }

    public SnapshotInfo.List snapshots(String id) throws IOException {
        return api.get(vm(id) + "/snapshots").json(SnapshotInfo.List.class);
    }

    public VmList list() throws IOException {
        return api.get("/v1/vms").json(VmList.class);
    }

    public VmInfo get(String id) throws IOException {
        return api.get(vm(id)).json(VmInfo.class);
    }

    public VmInfo start(String id) throws IOException {
        return api.post(vm(id) + "/start", Map.of()).json(VmInfo.class);
    }

    public VmInfo pause(String id) throws IOException {
        return api.post(vm(id) + "/pause", Map.of()).json(VmInfo.class);
    }

    public VmInfo resume(String id) throws IOException {
        return api.post(vm(id) + "/resume", Map.of()).json(VmInfo.class);
    }

    public VmInfo stop(String id, StopVm how) throws IOException {
        return api.post(vm(id) + "/stop", how).json(VmInfo.class);
    }

    /** Deletes a stopped or failed VM; {@code force} stops a running one first. */
    public void delete(String id, boolean force) throws IOException {
        api.send("DELETE", vm(id) + (force ? "?force=true" : ""), null).requireOk();
    }

    /** The last {@code bytes} of the VM's console log (also after it stopped or failed). */
    public byte[] logs(String id, int bytes) throws IOException {
        return api.get(vm(id) + "/logs?bytes=" + bytes).requireOk().body();
    }

    /** Creates a volume of {@code size} ({@code 512M}, {@code 10G}). */
    public VolumeInfo createVolume(String name, String size, Map<String, String> labels) throws IOException {
        return api.post("/v1/volumes", new CreateVolume(name, size, labels)).json(VolumeInfo.class);
    }

    public VolumeList volumes() throws IOException {
        return api.get("/v1/volumes").json(VolumeList.class);
    }

    /** Deletes a volume and its data (refused while a VM has it attached). */
    public void deleteVolume(String name) throws IOException {
        api.send("DELETE", "/v1/volumes/" + Names.requireVolumeName(name), null).requireOk();
    }

    /** {@code GET /metrics}: the node's and its VMs' metrics in the Prometheus text format. */
    public String metrics() throws IOException {
        return api.get("/metrics").requireOk().text();
    }

    public NodeInfo node() throws IOException {
        return api.get("/v1/node").json(NodeInfo.class);
    }

    /** The state changes from now on, or from just after {@code afterSeq} as far as the agent still has them. */
    public ApiClient.EventStream events(Optional<Long> afterSeq) throws IOException {
        return api.events("/v1/events" + afterSeq.map(s -> "?after=" + s).orElse(""));
    }

    /**
     * The VM's console as events of type {@code output} (see {@link #copyOutput}): the recent
     * output first when {@code replay}, then what the guest prints, until the VM stops. Closing
     * the stream detaches; the guest is not disturbed.
     */
    public ApiClient.EventStream console(String id, boolean replay) throws IOException {
        return api.events(vm(id) + "/console" + (replay ? "" : "?replay=false"));
    }

    /** Writes one console event's bytes to {@code out}; other events are ignored. */
    public static void copyOutput(Event event, OutputStream out) throws IOException {
        if (!event.type().equals("output")) return;
        ConsoleOutput chunk = MAPPER.readValue(event.data(), ConsoleOutput.class);
        out.write(Base64.getDecoder().decode(chunk.data()));
    }

    /** The state change an event of {@link #events} carries. */
    public static StateChange stateChange(Event event) throws IOException {
        return MAPPER.readValue(event.data(), StateChange.class);
    }

    /** The spec of a VM as the agent returned it. */
    public static VmSpec spec(VmInfo vm) {
        return VmSpecJson.read(vm.spec().toString());
    }

    private static String vm(String id) {
        return "/v1/vms/" + Names.requireVmId(id);
    }
}
