package io.aether.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelModulesTest {

    /** The dependencies of the Debian 6.1 cloud kernel's modules that the guest and the nested host load. */
    private static final Map<String, List<String>> DEBIAN = Map.of(
            "virtio_ring", List.of(),
            "virtio", List.of("virtio_ring"),
            "virtio_mmio", List.of("virtio", "virtio_ring"),
            "virtio_blk", List.of("virtio", "virtio_ring"),
            "virtio_net", List.of("virtio_ring", "virtio", "net_failover"),
            "net_failover", List.of("failover"),
            "failover", List.of(),
            "virtio_rng", List.of("virtio", "virtio_ring"),
            "irqbypass", List.of(),
            "kvm", List.of("irqbypass"));

    @Test
    void ordersDependenciesFirstEachOnce() throws IOException {
        List<String> order = KernelModules.order(List.of("virtio_mmio", "virtio_blk", "virtio_net", "virtio-rng"), lookup(DEBIAN));
        assertEquals(List.of("virtio_ring", "virtio", "virtio_mmio", "virtio_blk", "failover", "net_failover",
                "virtio_net", "virtio_rng"), order);
    }

    @Test
    void namesTheCycle() {
        Map<String, List<String>> g = Map.of("a", List.of("b"), "b", List.of("c"), "c", List.of("a"));
        var e = assertThrows(ModuleFormatException.class, () -> KernelModules.order(List.of("a"), lookup(g)));
        assertEquals("module dependencies form a cycle: a -> b -> c -> a", e.getMessage());
    }

    @Test
    void scansFilesAndChecksModinfoNames(@TempDir Path dir) throws IOException {
        Path kernel = dir.resolve("kernel");
        TestModules.write(kernel.resolve("virt/lib"), "irqbypass.ko", "irqbypass", List.of());
        TestModules.write(kernel.resolve("arch/x86/kvm"), "kvm.ko", "kvm", List.of("irqbypass"));
        TestModules.write(kernel.resolve("arch/x86/kvm"), "kvm-amd.ko", "kvm_amd", List.of("kvm"));
        TestModules.write(kernel.resolve("drivers/net"), "tun.ko", "tun", List.of());
        TestModules.write(kernel.resolve("drivers/net"), "liar.ko", "truth", List.of());
        KernelModules modules = KernelModules.scan(kernel);
        assertEquals(5, modules.size());
        assertEquals(kernel.resolve("arch/x86/kvm/kvm-amd.ko"), modules.file("kvm-amd").orElseThrow());

        List<KernelModules.Module> order = modules.loadOrder(List.of("kvm-amd", "tun"));
        assertEquals(List.of("irqbypass", "kvm", "kvm_amd", "tun"), order.stream().map(KernelModules.Module::name).toList());
        assertEquals(List.of("kvm"), order.get(2).depends());
        assertEquals("kvm-amd.ko", order.get(2).file().getFileName().toString());

        var missing = assertThrows(NoSuchFileException.class, () -> modules.loadOrder(List.of("virtio")));
        assertTrue(missing.getMessage().contains("kernel module virtio is not under " + kernel), missing.getMessage());
        var liar = assertThrows(ModuleFormatException.class, () -> modules.loadOrder(List.of("liar")));
        assertTrue(liar.getMessage().endsWith(".modinfo says name=truth, expected liar"), liar.getMessage());
    }

    /** On any acyclic graph: every wanted module and dependency is there once, after all of its dependencies. */
    @Test
    void anyAcyclicGraphOrdersCorrectly() {
        Property.forAll(Gen.lists(Gen.ints(0, 1000), 0, 40), Gen.lists(Gen.ints(0, 11), 1, 5)).tries(300).check((edges, wanted) -> {
            // Module i may only depend on modules with a larger number: acyclic by construction.
            Map<String, List<String>> g = new HashMap<>();
            for (int i = 0; i < 12; i++) {
                g.put("m" + i, new ArrayList<>());
            }
            for (int e : edges) {
                int from = e % 12;
                int to = from + 1 + (e / 12) % (12 - from);
                if (to < 12 && !g.get("m" + from).contains("m" + to)) {
                    g.get("m" + from).add("m" + to);
                }
            }
            List<String> want = wanted.stream().map(w -> "m" + w).toList();
            List<String> order = KernelModules.order(want, lookup(g));

            assertEquals(new HashSet<>(order).size(), order.size(), "no duplicates");
            Set<String> closure = new HashSet<>();
            List<String> todo = new ArrayList<>(want);
            while (!todo.isEmpty()) {
                String m = todo.removeLast();
                if (closure.add(m)) {
                    todo.addAll(g.get(m));
                }
            }
            assertEquals(closure, new HashSet<>(order), "exactly the wanted modules and their dependencies");
            for (String m : order) {
                for (String d : g.get(m)) {
                    assertTrue(order.indexOf(d) < order.indexOf(m), d + " before " + m + " in " + order);
                }
            }
        });
    }

    private static KernelModules.Dependencies lookup(Map<String, List<String>> graph) {
        return name -> {
            List<String> deps = graph.get(name);
            if (deps == null) {
                throw new NoSuchFileException(name);
            }
            return deps;
        };
    }
}
