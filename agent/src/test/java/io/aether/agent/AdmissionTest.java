package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.aether.agentapi.NodeInfo;
import io.aether.common.ByteSize;
import io.aether.vmspec.VmSpec;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class AdmissionTest {

    private static VmSpec linux(int vcpus, long mib) {
        return VmSpec.linux(Path.of("/vmlinuz")).withVcpus(vcpus).withMemory(ByteSize.ofMiB(mib));
    }

    @Test
    void vmsAreAdmittedUntilTheNodeIsFullAndTheRefusalNamesWhatDoesNotFit() {
        Admission a = new Admission(new NodeInfo.Capacity(4, 1024L << 20, 1.0));
        a.reserve("a", linux(2, 512));
        a.reserve("a", linux(2, 512)); // again: no change
        assertEquals(new NodeInfo.Admitted(1, 2, 512L << 20), a.admitted());
        assertEquals("does not fit: vcpus: 3 asked, 2 of 4 free on this node",
                assertThrows(IllegalStateException.class, () -> a.reserve("b", linux(3, 16))).getMessage());
        assertEquals("does not fit: memory: 1G asked, 512M of 1024M free on this node",
                assertThrows(IllegalStateException.class, () -> a.reserve("b", linux(1, 1024))).getMessage());
        assertEquals(new NodeInfo.Admitted(1, 2, 512L << 20), a.admitted(), "a refusal reserves nothing");
        a.reserve("b", linux(2, 512));
        a.release("a");
        assertEquals(new NodeInfo.Admitted(1, 2, 512L << 20), a.admitted());
    }

    @Test
    void overcommitStretchesBothLimits() {
        Admission a = new Admission(new NodeInfo.Capacity(2, 1024L << 20, 1.5));
        a.reserve("a", linux(3, 1536));
        assertEquals("does not fit: vcpus: 1 asked, 0 of 3 free on this node with overcommit 1.5",
                assertThrows(IllegalStateException.class, () -> a.reserve("b", linux(1, 16))).getMessage());
        a.hold("adopted", linux(1, 16)); // a monitor found running holds its share even past the limit
        assertEquals(new NodeInfo.Admitted(2, 4, 1552L << 20), a.admitted());
    }
}
