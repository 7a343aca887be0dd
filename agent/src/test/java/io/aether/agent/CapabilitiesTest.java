package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.agentapi.NodeInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class CapabilitiesTest {

    @Test
    void aPvmHostIsToldFromHardwareKvmAndFromNoKvm(@TempDir Path root) throws Exception {
        assertEquals(new NodeInfo.Capabilities(false, false, false,
                "no usable /dev/kvm: no VM can run here (load kvm_intel or kvm_amd, or give this user access to /dev/kvm)", true, "LAYOUT"),
                Capabilities.probe(root, true, "LAYOUT"));
        Files.createDirectories(root.resolve("dev"));
        Files.createFile(root.resolve("dev/kvm"));
        assertEquals(new NodeInfo.Capabilities(true, false, true, "hardware KVM: Linux and stub guests", false, "LAYOUT"),
                Capabilities.probe(root, false, "LAYOUT"));
        Files.createDirectories(root.resolve("sys/module/kvm_pvm"));
        NodeInfo.Capabilities pvm = Capabilities.probe(root, true, "LAYOUT");
        assertEquals(true, pvm.pvm());
        assertEquals(false, pvm.linuxGuests());
        assertEquals(true, pvm.note().startsWith("/dev/kvm is PVM-backed"));
    }
}
