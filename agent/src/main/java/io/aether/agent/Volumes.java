package io.aether.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.agentapi.CreateVm;
import io.aether.agentapi.CreateVolume;
import io.aether.agentapi.VmInfo;
import io.aether.agentapi.VolumeAttachment;
import io.aether.agentapi.VolumeInfo;
import io.aether.agentapi.VolumeList;
import io.aether.http.ApiError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The volume API over the node's {@link VolumeStore}. A VM's volumes become disks of its spec
 * (the image's path), so the spec alone says what a VM has attached: nothing else to keep in
 * step, and a re-adopted VM keeps its volumes. Creating a VM with volumes and deleting a volume
 * take one lock, so a volume cannot be deleted while a VM is being given it, nor given read-write
 * to two VMs at once.
 */
final class Volumes {

    private final VolumeStore store;
    private final Node node;
    private final Object attaching = new Object();

    Volumes(VolumeStore store, Node node) {
        this.store = store;
        this.node = node;
    }

    VolumeList list() {
        List<VmInfo> vms = node.list().vms();
        return new VolumeList(store.list().stream().map(m -> info(m, vms)).toList(), store.capacityBytes(), store.provisionedBytes());
    }

    VolumeInfo get(String name) {
        return info(store.get(name), node.list().vms());
    }

    VolumeInfo create(CreateVolume request) {
        try {
            return info(store.create(request, Instant.now()), List.of());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the volume " + request.name(), e);
        }
    }

    void delete(String name) {
        synchronized (attaching) {
            try {
                store.delete(name, attachedTo(store.image(name), node.list().vms()).stream().map(Attached::vm).toList());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete the volume " + name, e);
            }
        }
    }

    /** Creates the VM with {@code create}, its volumes first turned into disks of its spec. */
    VmInfo createVm(CreateVm request, Function<CreateVm, VmInfo> create) {
        if (request.volumes().isEmpty()) return create.apply(request);
        synchronized (attaching) {
            List<VmInfo> vms = node.list().vms();
            ObjectNode spec = request.spec().deepCopy();
            JsonNode existing = spec.get("disks");
            if (existing != null && !existing.isArray()) {
                throw new ApiError.BadRequest("spec.disks", "expected an array").exception();
            }
            ArrayNode disks = existing == null ? spec.putArray("disks") : (ArrayNode) existing;
            for (int i = 0; i < request.volumes().size(); i++) {
                VolumeAttachment v = request.volumes().get(i);
                Path image;
                try {
                    image = store.image(v.name());
                } catch (io.aether.http.ApiException e) {
                    throw new ApiError.BadRequest("volumes[" + i + "].name", "no volume named " + v.name()).exception();
                }
                for (Attached a : attachedTo(image, vms)) {
                    if (!v.readOnly() || !a.readOnly()) {
                        throw new ApiError.Conflict("volume " + v.name() + " is attached " + (a.readOnly() ? "read-only" : "read-write")
                                + " to " + a.vm() + ": a volume goes read-write to one VM at a time").exception();
                    }
                }
                disks.addObject().put("path", image.toString()).put("readOnly", v.readOnly());
            }
            return create.apply(request.withSpec(spec));
        }
    }

    private record Attached(String vm, boolean readOnly) {
    }

    /** The VMs whose spec has {@code image} as a disk. */
    private static List<Attached> attachedTo(Path image, List<VmInfo> vms) {
        List<Attached> found = new ArrayList<>();
        String path = image.toString();
        for (VmInfo vm : vms) {
            JsonNode disks = vm.spec().get("disks");
            if (disks == null) continue;
            for (JsonNode d : disks) {
                if (path.equals(d.path("path").asText())) found.add(new Attached(vm.id(), d.path("readOnly").asBoolean(false)));
            }
        }
        return found;
    }

    private VolumeInfo info(VolumeStore.Meta m, List<VmInfo> vms) {
        return new VolumeInfo(m.name(), m.sizeBytes(), m.labels(), m.createdAt(),
                attachedTo(store.image(m.name()), vms).stream().map(Attached::vm).toList());
    }
}
