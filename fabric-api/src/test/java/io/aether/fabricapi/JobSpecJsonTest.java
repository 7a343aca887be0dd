package io.aether.fabricapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class JobSpecJsonTest {

    private static final Path EXAMPLES = Path.of(System.getProperty("user.dir")).getParent().resolve("examples");

    private static final JobSpec FULL = new JobSpec("relu-model", new JobSpec.Workload.Model(URI.create("https://models.example.net/relu"), "v2"),
            new Resources(2, ByteSize.ofMiB(768)), 3, new TreeMap<>(Map.of("zone", "eu-1", "arch", "x86_64")), List.of("cache"),
            List.of("relu-model"), JobSpec.Placement.SPREAD, Optional.of("zone"), 100, true, JobSpec.Restart.ALWAYS,
            new JobSpec.Rollout(2, Duration.ofSeconds(90), false, 25));

    /** FULL, written out by hand: the canonical form, labels sorted, every default present. */
    private static final String FULL_JSON = "{\"name\":\"relu-model\","
            + "\"workload\":{\"model\":{\"repository\":\"https://models.example.net/relu\",\"ref\":\"v2\"}},"
            + "\"resources\":{\"vcpus\":2,\"memory\":\"768M\"},\"replicas\":3,"
            + "\"constraints\":{\"arch\":\"x86_64\",\"zone\":\"eu-1\"},\"affinity\":[\"cache\"],\"antiAffinity\":[\"relu-model\"],"
            + "\"placement\":\"spread\",\"spreadBy\":\"zone\",\"priority\":100,\"preempt\":true,\"restart\":\"always\","
            + "\"rollout\":{\"batch\":2,\"healthTimeoutSeconds\":90,\"autoRollback\":false,\"canaryPercent\":25}}";

    private static final JsonSchema SCHEMA = schema();

    private static JsonSchema schema() {
        try (InputStream in = JobSpec.class.getResourceAsStream("job-spec.schema.json")) {
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static Set<ValidationMessage> schemaProblems(String json) throws IOException {
        return SCHEMA.validate(new ObjectMapper().readTree(json));
    }

    private static FieldException refusal(String json) {
        return assertThrows(FieldException.class, () -> JobSpecJson.read(json));
    }

    @Test
    void theJsonFormIsTheDocumentedOneAndReadsBack() {
        assertEquals(FULL_JSON, JobSpecJson.write(FULL));
        assertEquals(FULL, JobSpecJson.read(FULL_JSON));
    }

    @Test
    void theExamplesPassTheSchemaAndTheParser() throws IOException {
        for (String example : List.of("hello-vm.json", "model.json", "hello-stub.json", "hello-volume.json")) {
            String json = Files.readString(EXAMPLES.resolve(example));
            assertEquals(Set.of(), schemaProblems(json), example);
            JobSpec spec = JobSpecJson.read(json);
            assertEquals(spec, JobSpecJson.read(JobSpecJson.write(spec)), example);
            assertEquals(Set.of(), schemaProblems(JobSpecJson.write(spec)), example + " as written back");
        }
        JobSpec vm = JobSpecJson.read(Files.readString(EXAMPLES.resolve("hello-vm.json")));
        assertEquals(VmSpec.stub(VmSpec.StubProgram.HELLO), assertInstanceOf(JobSpec.Workload.Vm.class, vm.workload()).spec());
        assertEquals(new Resources(1, ByteSize.ofMiB(32)), vm.resources());
        assertEquals(List.of("hello-vm"), vm.antiAffinity());
        JobSpec model = JobSpecJson.read(Files.readString(EXAMPLES.resolve("model.json")));
        assertEquals(50, model.rollout().canaryPercent());
        assertEquals(Optional.of("zone"), model.spreadBy());
    }

    @Test
    void defaultsFillWhatIsLeftOut() {
        JobSpec vm = JobSpecJson.read("{\"name\":\"a\",\"workload\":{\"vm\":{\"boot\":{\"kernel\":\"/k\"},\"memory\":\"128M\",\"vcpus\":2}}}");
        assertEquals(new Resources(2, ByteSize.ofMiB(128)), vm.resources());
        assertEquals(1, vm.replicas());
        assertEquals(JobSpec.Placement.BINPACK, vm.placement());
        assertEquals(JobSpec.Restart.ON_FAILURE, vm.restart());
        assertEquals(JobSpec.Rollout.DEFAULT, vm.rollout());
        JobSpec model = JobSpecJson.read("{\"name\":\"m\",\"workload\":{\"model\":{\"repository\":\"http://h:8080/r\",\"ref\":\"main\"}}}");
        assertEquals(new Resources(1, ByteSize.ofMiB(512)), model.resources());
    }

    /** Each bad spec: the field the parser names, and the schema refuses it too (two checks written apart). */
    @Test
    void errorsNameTheFieldAndTheSchemaAgrees() throws IOException {
        String vm = "\"workload\":{\"vm\":{\"boot\":{\"stub\":\"hello\"}}}";
        String model = "\"workload\":{\"model\":{\"repository\":\"https://h/r\",\"ref\":\"main\"}}";
        Map<String, String> cases = new TreeMap<>(Map.ofEntries(
                Map.entry("{\"name\":\"a\"," + vm + ",\"replica\":2}", "replica"),
                Map.entry("{\"name\":\"a\"," + vm + ",\"replicas\":0}", "replicas"),
                Map.entry("{\"name\":\"a\"," + vm + ",\"replicas\":\"2\"}", "replicas"),
                Map.entry("{\"name\":\"A b\"," + vm + "}", "name"),
                Map.entry("{" + vm + "}", "name"),
                Map.entry("{\"name\":\"a\"}", "workload"),
                Map.entry("{\"name\":\"a\",\"workload\":{}}", "workload"),
                Map.entry("{\"name\":\"a\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"hello\"},\"memory\":true}}}", "workload.vm.memory"),
                Map.entry("{\"name\":\"a\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"hello\"},\"colour\":1}}}", "workload.vm.colour"),
                Map.entry("{\"name\":\"a\",\"workload\":{\"model\":{\"repository\":\"ftp://h/r\",\"ref\":\"main\"}}}", "workload.model.repository"),
                Map.entry("{\"name\":\"a\",\"workload\":{\"model\":{\"repository\":\"https://h/r\",\"ref\":\"-x\"}}}", "workload.model.ref"),
                Map.entry("{\"name\":\"a\"," + model + ",\"constraints\":{\"zone\":\"eu 1\"}}", "constraints.zone"),
                Map.entry("{\"name\":\"a\"," + model + ",\"antiAffinity\":[\"b\",\"B!\"]}", "antiAffinity[1]"),
                Map.entry("{\"name\":\"a\"," + model + ",\"placement\":\"random\"}", "placement"),
                Map.entry("{\"name\":\"a\"," + model + ",\"priority\":1001}", "priority"),
                Map.entry("{\"name\":\"a\"," + model + ",\"restart\":\"sometimes\"}", "restart"),
                Map.entry("{\"name\":\"a\"," + model + ",\"resources\":{\"memory\":\"lots\"}}", "resources.memory"),
                Map.entry("{\"name\":\"a\"," + model + ",\"rollout\":{\"healthTimeoutSeconds\":0}}", "rollout.healthTimeout"),
                Map.entry("{\"name\":\"a\"," + model + ",\"rollout\":{\"canaryPercent\":101}}", "rollout.canaryPercent"),
                Map.entry("{\"name\":\"a\"," + vm + ",\"volumes\":{\"name\":\"data\"}}", "volumes"),
                Map.entry("{\"name\":\"a\"," + vm + ",\"volumes\":[" + "{\"name\":\"v\",\"size\":\"1M\"},".repeat(8) + "{\"name\":\"w\",\"size\":\"1M\"}]}", "volumes"),
                Map.entry("{\"name\":\"a\"," + vm + ",\"volumes\":[{\"name\":\"data\",\"size\":\"lots\"}]}", "volumes[0].size"),
                Map.entry("{\"name\":\"a\"," + vm + ",\"volumes\":[{\"name\":\"data\"}]}", "volumes[0].size"),
                Map.entry("{\"name\":\"a\"," + vm + ",\"volumes\":[{\"name\":\"data\",\"size\":\"1M\"},{\"name\":\"Logs!\",\"size\":\"1M\"}]}", "volumes[1].name"),
                Map.entry("{\"name\":\"a\"," + vm + ",\"volumes\":[{\"name\":\"data\",\"size\":\"1M\",\"mode\":\"rw\"}]}", "volumes[0].mode"),
                Map.entry("{\"name\":\"a\"," + vm + ",\"volumes\":[{\"name\":\"data\",\"size\":\"1M\",\"readOnly\":\"yes\"}]}", "volumes[0].readOnly")));
        cases.forEach((json, field) -> {
            assertEquals(field, refusal(json).field(), json);
            try {
                assertFalse(schemaProblems(json).isEmpty(), "the schema takes " + json);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
    }

    @Test
    void volumesAreWrittenInTheirOrderAndReadBackAndAJobWithoutThemWritesNone() {
        String json = "{\"name\":\"db\",\"workload\":{\"vm\":{\"boot\":{\"kernel\":\"/k\"}}},"
                + "\"volumes\":[{\"name\":\"data\",\"size\":\"64M\"},{\"name\":\"seed\",\"size\":2097152,\"readOnly\":true}]}";
        JobSpec spec = JobSpecJson.read(json);
        assertEquals(List.of(new JobSpec.Volume("data", ByteSize.ofMiB(64), false), new JobSpec.Volume("seed", ByteSize.ofMiB(2), true)), spec.volumes());
        String written = JobSpecJson.write(spec);
        assertTrue(written.endsWith(",\"volumes\":[{\"name\":\"data\",\"size\":\"64M\",\"readOnly\":false},"
                + "{\"name\":\"seed\",\"size\":\"2M\",\"readOnly\":true}]}"), written);
        assertEquals(spec, JobSpecJson.read(written));
        assertEquals(spec.volumes(), spec.withReplicas(3).withPriority(5, true).volumes(), "changing another field keeps the volumes");
        assertFalse(FULL_JSON.contains("volumes"));
    }

    /** What only the parser can see: relations between fields that the schema does not express. */
    @Test
    void relationsBetweenFieldsAreCheckedByName() {
        String vm = "\"workload\":{\"vm\":{\"boot\":{\"kernel\":\"/k\"},\"memory\":\"256M\",\"vcpus\":2}}";
        assertEquals("resources.memory: 128M is less than the VM's 256M",
                refusal("{\"name\":\"a\"," + vm + ",\"resources\":{\"memory\":\"128M\"}}").getMessage());
        assertEquals("resources.vcpus", refusal("{\"name\":\"a\"," + vm + ",\"resources\":{\"vcpus\":1}}").field());
        assertEquals("rollout.batch: 3 is more than the 2 replicas", refusal("{\"name\":\"a\"," + vm + ",\"replicas\":2,\"rollout\":{\"batch\":3}}").getMessage());
        assertEquals("rollout.canaryPercent: a canary is for model workloads only",
                refusal("{\"name\":\"a\"," + vm + ",\"rollout\":{\"canaryPercent\":10}}").getMessage());
        assertEquals("workload: give exactly one of vm and model",
                refusal("{\"name\":\"a\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"hello\"}},\"model\":{\"repository\":\"https://h/r\",\"ref\":\"m\"}}}").getMessage());
        assertEquals("workload.vm.memory: 1M is too small (at least 16M)",
                refusal("{\"name\":\"a\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"hello\"},\"memory\":\"1M\"}}}").getMessage());
        assertEquals("volumes: the stub guest has no disks; volumes need a kernel VM",
                refusal("{\"name\":\"a\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"hello\"}}},\"volumes\":[{\"name\":\"data\",\"size\":\"4M\"}]}").getMessage());
        assertEquals("volumes[0].size: 3 is not a whole number of MiB from 1M to 1024G",
                refusal("{\"name\":\"a\"," + vm + ",\"volumes\":[{\"name\":\"data\",\"size\":\"3\"}]}").getMessage());
        assertEquals("volumes[0].size", refusal("{\"name\":\"a\"," + vm + ",\"volumes\":[{\"name\":\"data\",\"size\":\"2048G\"}]}").field());
        assertEquals("volumes[1].name: data is named twice",
                refusal("{\"name\":\"a\"," + vm + ",\"volumes\":[{\"name\":\"data\",\"size\":\"1M\"},{\"name\":\"data\",\"size\":\"2M\"}]}").getMessage());
        assertEquals("volumes: volumes are for microVM workloads only", refusal("{\"name\":\"a\",\"workload\":{\"model\":{\"repository\":\"https://h/r\","
                + "\"ref\":\"m\"}},\"volumes\":[{\"name\":\"data\",\"size\":\"1M\"}]}").getMessage());
        assertEquals("affinity[1]: b is named twice", refusal("{\"name\":\"a\"," + vm + ",\"affinity\":[\"b\",\"b\"]}").getMessage());
    }

    @Test
    void textThatIsNotOneSpecIsRefusedAsAWhole() {
        assertEquals("spec", refusal("").field());
        assertEquals("spec", refusal("{\"name\":\"a\"} {}").field());
        assertEquals("spec", refusal("[1]").field());
        assertTrue(refusal("{\"name\":\"a\",\"name\":\"b\"}").getMessage().startsWith("spec: not JSON at line 1"));
        assertEquals("spec", refusal(" ".repeat(JobSpecJson.MAX_CHARS + 1)).field());
    }
}
