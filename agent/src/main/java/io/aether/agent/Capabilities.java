package io.aether.agent;

import io.aether.agentapi.NodeInfo;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What this host's KVM can run, as {@code GET /v1/node} reports it. Read from the same place
 * {@code KvmHost} looks (the agent may not import {@code vmm}): {@code /sys/module/kvm_pvm} marks a
 * PVM-backed {@code /dev/kvm}. Reading it costs nothing, where a probe monitor process would cost
 * a JVM start at every agent start.
 */
final class Capabilities {

    private Capabilities() {
    }

    static NodeInfo.Capabilities probe(Quotas quotas) {
        return probe(Path.of("/"), quotas.enforced(), quotas.describe());
    }

    static NodeInfo.Capabilities probe(Path root, boolean quotas, String cgroups) {
        Path kvm = root.resolve("dev/kvm");
        boolean present = Files.isReadable(kvm) && Files.isWritable(kvm);
        boolean pvm = Files.isDirectory(root.resolve("sys/module/kvm_pvm"));
        String note;
        if (!present) {
            note = "no usable /dev/kvm: no VM can run here (load kvm_intel or kvm_amd, or give this user access to /dev/kvm)";
        } else if (pvm) {
            note = "/dev/kvm is PVM-backed (kvm_pvm, no VMX or SVM in the CPU): stub guests only; an unmodified Linux kernel"
                    + " cannot boot here (use the nested test host, or 'aether demo')";
        } else {
            note = "hardware KVM: Linux and stub guests";
        }
        return new NodeInfo.Capabilities(present, pvm, present && !pvm, note, quotas, cgroups);
    }
}
