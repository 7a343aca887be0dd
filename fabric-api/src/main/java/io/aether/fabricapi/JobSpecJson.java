package io.aether.fabricapi;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The JSON form of a {@link JobSpec}, the body of a job submit and what the controller's log
 * keeps. The resource {@code io/aether/fabricapi/job-spec.schema.json} describes it; {@code examples/hello-vm.json} and
 * {@code examples/model.json} are two specs.
 *
 * <pre>{@code
 * {"name": "hello", "workload": {"vm": {"boot": {"stub": "hello"}}}, "replicas": 2,
 *  "constraints": {"zone": "lab"}, "antiAffinity": ["hello"], "placement": "spread",
 *  "priority": 10, "restart": "on-failure", "rollout": {"batch": 1, "healthTimeoutSeconds": 60},
 *  "volumes": [{"name": "data", "size": "64M", "readOnly": false}]}
 * }</pre>
 *
 * Only {@code name} and {@code workload} are required. Like {@link VmSpecJson}, reading refuses by
 * name any field it does not know, a field given twice and a value of the wrong kind; the VM's
 * own fields are read by {@link VmSpecJson} and their errors are named under {@code workload.vm}.
 * {@link #write} is canonical: the same spec is always the same text, fields in a fixed order,
 * every default written (but {@code volumes}, written only when there are some, so that the
 * specs logged before volumes existed keep their text), so it can go into a replicated log.
 */
public final class JobSpecJson {

    /** Far above any real job (a VM spec is at most 64 KiB); bounds what a request body can make us parse. */
    public static final int MAX_CHARS = 128 * 1024;

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32).maxNumberLength(32).build());
    }

    private JobSpecJson() {
    }

    /** The spec as one line of JSON, every field written in the order of {@link JobSpec}'s components. */
    public static String write(JobSpec spec) {
        return tree(spec).toString();
    }

    /** The spec as a JSON tree, for a document that embeds it. */
    public static ObjectNode tree(JobSpec spec) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("name", spec.name());
        ObjectNode workload = root.putObject("workload");
        switch (spec.workload()) {
            case JobSpec.Workload.Vm(VmSpec vm) -> workload.set("vm", readTree(VmSpecJson.write(vm)));
            case JobSpec.Workload.Model(URI repository, String ref) -> workload.putObject("model").put("repository", repository.toString()).put("ref", ref);
        }
        root.putObject("resources").put("vcpus", spec.resources().vcpus()).put("memory", spec.resources().memory().toString());
        root.put("replicas", spec.replicas());
        ObjectNode constraints = root.putObject("constraints");
        spec.constraints().forEach(constraints::put);
        spec.affinity().forEach(root.putArray("affinity")::add);
        spec.antiAffinity().forEach(root.putArray("antiAffinity")::add);
        root.put("placement", id(spec.placement()));
        spec.spreadBy().ifPresent(label -> root.put("spreadBy", label));
        root.put("priority", spec.priority());
        root.put("preempt", spec.preempt());
        root.put("restart", id(spec.restart()));
        JobSpec.Rollout rollout = spec.rollout();
        root.putObject("rollout").put("batch", rollout.batch()).put("healthTimeoutSeconds", rollout.healthTimeout().toSeconds())
                .put("autoRollback", rollout.autoRollback()).put("canaryPercent", rollout.canaryPercent());
        // Written only when there are some, so that the canonical form of a job without volumes stays as it was.
        if (!spec.volumes().isEmpty()) {
            ArrayNode volumes = root.putArray("volumes");
            spec.volumes().forEach(v -> volumes.addObject().put("name", v.name()).put("size", v.size().toString()).put("readOnly", v.readOnly()));
        }
        return root;
    }

    /**
     * Reads a spec.
     *
     * @throws FieldException naming the first bad field ({@code spec} for the text as a whole)
     */
    public static JobSpec read(String json) {
        if (json.length() > MAX_CHARS) throw new FieldException("spec", json.length() + " characters is more than a job spec may have (" + MAX_CHARS + ")");
        JsonNode tree;
        try (JsonParser parser = MAPPER.createParser(json)) {
            tree = MAPPER.readTree(parser);
            if (tree != null && parser.nextToken() != null) throw new FieldException("spec", "more after the spec");
        } catch (JsonProcessingException e) {
            String message = e.getOriginalMessage();
            int source = message.indexOf(" (start marker at [Source");
            throw new FieldException("spec", "not JSON at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr()
                    + ": " + JobSpec.printable(source < 0 ? message : message.substring(0, source)));
        } catch (IOException e) {
            throw new UncheckedIOException("reading a string cannot fail", e);
        }
        if (tree == null || tree.isMissingNode()) throw new FieldException("spec", "empty");
        return read(tree);
    }

    /** Reads a spec already parsed as part of a larger document; errors name fields from the spec's root. */
    public static JobSpec read(JsonNode tree) {
        Obj root = Obj.of("", tree, "name", "workload", "resources", "replicas", "constraints", "affinity", "antiAffinity",
                "placement", "spreadBy", "priority", "preempt", "restart", "rollout", "volumes");
        String name = root.text("name").orElseThrow(() -> new FieldException("name", "missing"));
        JobSpec.Workload workload = workload(root.object("workload", "vm", "model")
                .orElseThrow(() -> new FieldException("workload", "missing")));
        Optional<Obj> given = root.object("resources", "vcpus", "memory");
        Resources defaults = workload instanceof JobSpec.Workload.Vm(VmSpec vm) ? JobSpec.resourcesOf(vm) : new Resources(1, JobSpec.MODEL_DEFAULT_MEMORY);
        Resources resources = given.map(r -> new Resources(r.whole("vcpus").orElse(defaults.vcpus()), r.size("memory").orElse(defaults.memory())))
                .orElse(defaults);
        TreeMap<String, String> constraints = new TreeMap<>();
        root.object("constraints").ifPresent(c -> c.node.fieldNames().forEachRemaining(label -> constraints.put(label,
                c.text(label).orElseThrow(() -> new FieldException(c.field(label), "expected a string, got null")))));
        JobSpec.Rollout rollout = root.object("rollout", "batch", "healthTimeoutSeconds", "autoRollback", "canaryPercent")
                .map(r -> new JobSpec.Rollout(r.whole("batch").orElse(JobSpec.Rollout.DEFAULT.batch()),
                        r.whole("healthTimeoutSeconds").map(Duration::ofSeconds).orElse(JobSpec.Rollout.DEFAULT.healthTimeout()),
                        r.bool("autoRollback").orElse(JobSpec.Rollout.DEFAULT.autoRollback()),
                        r.whole("canaryPercent").orElse(JobSpec.Rollout.DEFAULT.canaryPercent())))
                .orElse(JobSpec.Rollout.DEFAULT);
        return new JobSpec(name, workload, resources, root.whole("replicas").orElse(1), constraints,
                root.texts("affinity"), root.texts("antiAffinity"),
                root.text("placement").map(v -> choice("placement", JobSpec.Placement.values(), v)).orElse(JobSpec.Placement.BINPACK),
                root.text("spreadBy"), root.whole("priority").orElse(0), root.bool("preempt").orElse(false),
                root.text("restart").map(v -> choice("restart", JobSpec.Restart.values(), v)).orElse(JobSpec.Restart.ON_FAILURE),
                rollout, root.objects("volumes", JobSpec.MAX_VOLUMES, "name", "size", "readOnly").stream().map(JobSpecJson::volume).toList());
    }

    private static JobSpec.Workload workload(Obj workload) {
        Optional<JsonNode> vm = workload.value("vm");
        Optional<Obj> model = workload.object("model", "repository", "ref");
        if (vm.isPresent() == model.isPresent()) throw new FieldException("workload", "give exactly one of vm and model");
        if (vm.isPresent()) {
            try {
                return new JobSpec.Workload.Vm(VmSpecJson.read(vm.get().toString()));
            } catch (FieldException e) {
                String field = e.field().equals("spec") ? "workload.vm" : "workload.vm." + e.field();
                throw new FieldException(field, e.problem());
            }
        }
        Obj m = model.get();
        String url = m.text("repository").orElseThrow(() -> new FieldException("workload.model.repository", "missing"));
        URI repository;
        try {
            repository = new URI(url);
        } catch (URISyntaxException e) {
            throw new FieldException("workload.model.repository", "'" + JobSpec.printable(url) + "' is not a URL");
        }
        return new JobSpec.Workload.Model(repository, m.text("ref").orElseThrow(() -> new FieldException("workload.model.ref", "missing")));
    }

    private static JobSpec.Volume volume(Obj v) {
        return new JobSpec.Volume(v.text("name").orElseThrow(() -> new FieldException(v.field("name"), "missing")),
                v.size("size").orElseThrow(() -> new FieldException(v.field("size"), "missing (such as \"64M\")")), v.bool("readOnly").orElse(false));
    }

    /** One object of the spec at {@code path}, all of whose fields are known; JSON null counts as absent. */
    private record Obj(String path, JsonNode node) {

        static Obj of(String path, JsonNode node, String... known) {
            if (!node.isObject()) throw new FieldException(path.isEmpty() ? "spec" : path, "expected an object, got " + kind(node));
            if (known.length > 0) {
                Set<String> names = Set.of(known);
                for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                    String name = it.next();
                    if (!names.contains(name)) {
                        throw new FieldException(child(path, JobSpec.printable(name)), "unknown field (known: " + String.join(", ", known) + ")");
                    }
                }
            }
            return new Obj(path, node);
        }

        String field(String name) {
            return child(path, name);
        }

        Optional<JsonNode> value(String name) {
            JsonNode value = node.get(name);
            return value == null || value.isNull() ? Optional.empty() : Optional.of(value);
        }

        /** A nested object whose fields are {@code known} (any, if none are listed). */
        Optional<Obj> object(String name, String... known) {
            return value(name).map(v -> of(field(name), v, known));
        }

        Optional<String> text(String name) {
            return value(name).map(v -> {
                if (!v.isTextual()) throw new FieldException(field(name), "expected a string, got " + kind(v));
                return v.textValue();
            });
        }

        Optional<Integer> whole(String name) {
            return value(name).map(v -> {
                if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new FieldException(field(name), "expected a whole number, got " + kind(v));
                return v.intValue();
            });
        }

        Optional<Boolean> bool(String name) {
            return value(name).map(v -> {
                if (!v.isBoolean()) throw new FieldException(field(name), "expected true or false, got " + kind(v));
                return v.booleanValue();
            });
        }

        /** {@code "256M"} as users write sizes, or a number of bytes. */
        Optional<ByteSize> size(String name) {
            return value(name).map(v -> {
                try {
                    if (v.isIntegralNumber() && v.canConvertToLong()) return new ByteSize(v.longValue());
                    if (v.isTextual()) return ByteSize.parse(v.textValue());
                } catch (IllegalArgumentException e) {
                    throw new FieldException(field(name), JobSpec.printable(e.getMessage()));
                }
                throw new FieldException(field(name), "expected a size such as \"256M\" or a number of bytes, got " + kind(v));
            });
        }

        /** An array of at most {@code max} objects whose fields are {@code known}, each named by its index ({@code volumes[0]}). */
        List<Obj> objects(String name, int max, String... known) {
            Optional<JsonNode> array = value(name);
            if (array.isEmpty()) return List.of();
            if (!array.get().isArray()) throw new FieldException(field(name), "expected an array, got " + kind(array.get()));
            if (array.get().size() > max) throw new FieldException(field(name), array.get().size() + " are more than " + max);
            List<Obj> out = new ArrayList<>();
            for (int i = 0; i < array.get().size(); i++) out.add(of(field(name) + "[" + i + "]", array.get().get(i), known));
            return out;
        }

        List<String> texts(String name) {
            Optional<JsonNode> array = value(name);
            if (array.isEmpty()) return List.of();
            if (!array.get().isArray()) throw new FieldException(field(name), "expected an array, got " + kind(array.get()));
            List<String> out = new ArrayList<>();
            for (int i = 0; i < array.get().size(); i++) {
                JsonNode element = array.get().get(i);
                if (!element.isTextual()) throw new FieldException(field(name) + "[" + i + "]", "expected a string, got " + kind(element));
                out.add(element.textValue());
            }
            return out;
        }

        private static String child(String path, String name) {
            return path.isEmpty() ? name : path + "." + name;
        }
    }

    /** An enum constant as JSON writes it: {@code on-failure}. */
    static String id(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private static <E extends Enum<E>> E choice(String field, E[] values, String text) {
        for (E value : values) if (id(value).equals(text)) return value;
        List<String> ids = new ArrayList<>();
        for (E value : values) ids.add(id(value));
        throw new FieldException(field, "'" + JobSpec.printable(text) + "' is not one of " + String.join(", ", ids));
    }

    private static JsonNode readTree(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("VmSpecJson writes JSON", e);
        }
    }

    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> node.isIntegralNumber() ? "the number " + JobSpec.printable(node.asText()) : "a fraction";
            case BOOLEAN -> node.asText();
            case OBJECT -> "an object";
            case ARRAY -> "an array";
            case NULL -> "null";
            default -> "something else";
        };
    }
}
