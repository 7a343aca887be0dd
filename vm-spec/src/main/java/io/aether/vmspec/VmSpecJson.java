package io.aether.vmspec;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import io.aether.common.MacAddress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * The JSON form of a {@link VmSpec}: the body of the node agent's create request and the spec a
 * snapshot keeps.
 *
 * <pre>{@code
 * {"boot": {"kernel": "/vm/vmlinuz", "initrd": "/vm/initrd.gz", "cmdline": "console=ttyS0 panic=-1"},
 *  "memory": "512M", "vcpus": 2,
 *  "disks": [{"path": "/vm/root.img", "readOnly": false, "rateLimit": {"bytesPerSecond": 52428800, "opsPerSecond": 1000}}],
 *  "nics": [{"tap": "tap0", "mac": "02:8e:2b:67:31:0c", "txRateLimit": {"bytesPerSecond": 12500000, "bytesBurst": 1048576}}],
 *  "onReboot": "exit"}
 * }</pre>
 *
 * {@code boot} is either {@code {"kernel", "initrd"?, "cmdline"?}} or {@code {"stub": "hello"}}.
 * A disk's {@code rateLimit} and a NIC's {@code rxRateLimit} and {@code txRateLimit} are
 * {@link VmSpec.RateLimit}s: {@code bytesPerSecond}, {@code opsPerSecond}, {@code bytesBurst},
 * {@code opsBurst}, whole numbers, each optional (0 when absent).
 * Only {@code boot} and each disk's {@code path} and NIC's {@code tap} are required; the rest
 * default as {@link VmSpec#linux} and {@link VmSpec#stub} do ({@code memory} may also be a
 * number of bytes). Reading refuses, naming the field, any field it does not know, a field
 * given twice, and a value of the wrong kind, so that a misspelt field is never silently ignored.
 * The tree is walked by hand rather than bound to the records: each error then names the field
 * as the JSON spells it, and nothing is created by reflection from outside input.
 */
public final class VmSpecJson {

    /** Far above any real spec (a few hundred bytes); bounds what a request body can make us parse. */
    public static final int MAX_CHARS = 64 * 1024;

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private VmSpecJson() {
    }

    /** The spec as one line of JSON, every field written (an absent initrd or MAC is left out). */
    public static String write(VmSpec spec) {
        ObjectNode root = MAPPER.createObjectNode();
        ObjectNode boot = root.putObject("boot");
        switch (spec.boot()) {
            case VmSpec.Boot.Linux linux -> {
                boot.put("kernel", linux.kernel().toString());
                linux.initrd().ifPresent(i -> boot.put("initrd", i.toString()));
                boot.put("cmdline", linux.cmdline());
            }
            case VmSpec.Boot.Stub stub -> boot.put("stub", stub.program().id());
        }
        root.put("memory", spec.memory().toString());
        root.put("vcpus", spec.vcpus());
        ArrayNode disks = root.putArray("disks");
        for (VmSpec.Disk d : spec.disks()) {
            ObjectNode disk = disks.addObject().put("path", d.path().toString()).put("readOnly", d.readOnly());
            d.rateLimit().ifPresent(l -> writeLimit(disk.putObject("rateLimit"), l));
        }
        ArrayNode nics = root.putArray("nics");
        for (VmSpec.Nic n : spec.nics()) {
            ObjectNode nic = nics.addObject().put("tap", n.tap());
            n.mac().ifPresent(m -> nic.put("mac", m.toString()));
            n.rxRateLimit().ifPresent(l -> writeLimit(nic.putObject("rxRateLimit"), l));
            n.txRateLimit().ifPresent(l -> writeLimit(nic.putObject("txRateLimit"), l));
        }
        root.put("onReboot", spec.onReboot().id());
        return root.toString();
    }

    /** The limit's fields that are set (not 0). */
    private static void writeLimit(ObjectNode out, VmSpec.RateLimit limit) {
        if (limit.bytesPerSecond() != 0) out.put("bytesPerSecond", limit.bytesPerSecond());
        if (limit.opsPerSecond() != 0) out.put("opsPerSecond", limit.opsPerSecond());
        if (limit.bytesBurst() != 0) out.put("bytesBurst", limit.bytesBurst());
        if (limit.opsBurst() != 0) out.put("opsBurst", limit.opsBurst());
    }

    /**
     * Reads a spec.
     *
     * @throws FieldException naming the first bad field ({@code spec} for the text as a whole)
     */
    public static VmSpec read(String json) {
        if (json.length() > MAX_CHARS) {
            throw new FieldException("spec", json.length() + " characters is more than a spec may have (" + MAX_CHARS + ")");
        }
        JsonNode tree;
        try (JsonParser parser = MAPPER.createParser(json)) {
            tree = MAPPER.readTree(parser);
            if (tree != null && parser.nextToken() != null) {
                throw new FieldException("spec", "more after the spec at " + where(parser.currentTokenLocation()));
            }
        } catch (JsonProcessingException e) {
            String message = e.getOriginalMessage();
            int source = message.indexOf(" (start marker at [Source");
            throw new FieldException("spec", "not JSON at " + where(e.getLocation()) + ": "
                    + VmSpec.printable(source < 0 ? message : message.substring(0, source)));
        } catch (IOException e) {
            throw new UncheckedIOException("reading a string cannot fail", e);
        }
        if (tree == null || tree.isMissingNode()) throw new FieldException("spec", "empty");
        Fields root = Fields.of("", tree, "boot", "memory", "vcpus", "disks", "nics", "onReboot");
        VmSpec.Boot boot = boot(Fields.of("boot", root.required("boot"), "kernel", "initrd", "cmdline", "stub"));
        ByteSize defaultMemory = boot instanceof VmSpec.Boot.Stub ? VmSpec.STUB_MEMORY : VmSpec.DEFAULT_MEMORY;
        ByteSize memory = root.optional("memory").map(v -> size("memory", v)).orElse(defaultMemory);
        int vcpus = root.optional("vcpus").map(v -> wholeNumber("vcpus", v)).orElse(1);
        List<VmSpec.Disk> disks = root.list("disks", (field, node) -> {
            Fields disk = Fields.of(field, node, "path", "readOnly", "rateLimit");
            return new VmSpec.Disk(disk.path("path"), disk.optional("readOnly").map(v -> bool(disk.field("readOnly"), v)).orElse(false),
                    disk.optional("rateLimit").map(v -> rateLimit(disk.field("rateLimit"), v)));
        });
        List<VmSpec.Nic> nics = root.list("nics", (field, node) -> {
            Fields nic = Fields.of(field, node, "tap", "mac", "rxRateLimit", "txRateLimit");
            return new VmSpec.Nic(nic.string("tap"), nic.optional("mac").map(v -> mac(nic.field("mac"), v)),
                    nic.optional("rxRateLimit").map(v -> rateLimit(nic.field("rxRateLimit"), v)),
                    nic.optional("txRateLimit").map(v -> rateLimit(nic.field("txRateLimit"), v)));
        });
        VmSpec.OnReboot onReboot = root.optional("onReboot").map(v -> VmSpec.OnReboot.parse(text("onReboot", v)))
                .orElse(VmSpec.OnReboot.EXIT);
        return new VmSpec(boot, memory, vcpus, disks, nics, onReboot);
    }

    private static String where(JsonLocation location) {
        return location == null ? "an unknown place" : "line " + location.getLineNr() + ", column " + location.getColumnNr();
    }

    private static VmSpec.Boot boot(Fields boot) {
        Optional<JsonNode> stub = boot.optional("stub");
        if (stub.isEmpty()) {
            return new VmSpec.Boot.Linux(boot.path("kernel"), boot.optional("initrd").map(v -> path(boot.field("initrd"), v)),
                    boot.optional("cmdline").map(v -> text(boot.field("cmdline"), v)).orElse(VmSpec.DEFAULT_CMDLINE));
        }
        for (String linuxOnly : List.of("kernel", "initrd", "cmdline")) {
            if (boot.optional(linuxOnly).isPresent()) throw new FieldException(boot.field(linuxOnly), "not with stub (a kernel or the stub guest, not both)");
        }
        return new VmSpec.Boot.Stub(VmSpec.StubProgram.parse(text("boot.stub", stub.get())));
    }

    /** One object of the spec at {@code path}, all of whose fields are known. */
    private record Fields(String path, JsonNode node) {

        static Fields of(String path, JsonNode node, String... known) {
            if (!node.isObject()) throw new FieldException(path.isEmpty() ? "spec" : path, "expected an object, got " + kind(node));
            Set<String> names = Set.of(known);
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                if (!names.contains(name)) {
                    throw new FieldException(child(path, VmSpec.printable(name)), "unknown field (known: " + String.join(", ", known) + ")");
                }
            }
            return new Fields(path, node);
        }

        String field(String name) {
            return child(path, name);
        }

        /** The field's value; JSON null counts as absent. */
        Optional<JsonNode> optional(String name) {
            JsonNode value = node.get(name);
            return value == null || value.isNull() ? Optional.empty() : Optional.of(value);
        }

        JsonNode required(String name) {
            return optional(name).orElseThrow(() -> new FieldException(field(name), "missing"));
        }

        String string(String name) {
            return text(field(name), required(name));
        }

        Path path(String name) {
            return VmSpecJson.path(field(name), required(name));
        }

        /** Each element of an optional array field, read by {@code element(field, node)}. */
        <T> List<T> list(String name, BiFunction<String, JsonNode, T> element) {
            Optional<JsonNode> array = optional(name);
            if (array.isEmpty()) return List.of();
            if (!array.get().isArray()) throw new FieldException(field(name), "expected an array, got " + kind(array.get()));
            List<T> out = new ArrayList<>(array.get().size());
            for (int i = 0; i < array.get().size(); i++) out.add(element.apply(field(name) + "[" + i + "]", array.get().get(i)));
            return out;
        }

        private static String child(String path, String name) {
            return path.isEmpty() ? name : path + "." + name;
        }
    }

    private static String text(String field, JsonNode value) {
        if (!value.isTextual()) throw new FieldException(field, "expected a string, got " + kind(value));
        return value.textValue();
    }

    private static Path path(String field, JsonNode value) {
        String text = text(field, value);
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new FieldException(field, "not a path: '" + VmSpec.printable(text) + "'");
        }
    }

    private static int wholeNumber(String field, JsonNode value) {
        if (!value.isIntegralNumber() || !value.canConvertToInt()) throw new FieldException(field, "expected a whole number, got " + kind(value));
        return value.intValue();
    }

    private static VmSpec.RateLimit rateLimit(String field, JsonNode value) {
        Fields limit = Fields.of(field, value, "bytesPerSecond", "opsPerSecond", "bytesBurst", "opsBurst");
        long[] v = new long[4];
        String[] names = {"bytesPerSecond", "opsPerSecond", "bytesBurst", "opsBurst"};
        for (int i = 0; i < names.length; i++) {
            String name = names[i];
            v[i] = limit.optional(name).map(n -> wholeLong(limit.field(name), n)).orElse(0L);
        }
        try {
            return new VmSpec.RateLimit(v[0], v[1], v[2], v[3]);
        } catch (FieldException e) {
            throw new FieldException(e.field().equals("rateLimit") ? field : limit.field(e.field()), e.problem());
        }
    }

    private static long wholeLong(String field, JsonNode value) {
        if (!value.isIntegralNumber() || !value.canConvertToLong()) throw new FieldException(field, "expected a whole number, got " + kind(value));
        return value.longValue();
    }

    private static boolean bool(String field, JsonNode value) {
        if (!value.isBoolean()) throw new FieldException(field, "expected true or false, got " + kind(value));
        return value.booleanValue();
    }

    /** {@code "256M"} as users write sizes, or a number of bytes. */
    private static ByteSize size(String field, JsonNode value) {
        try {
            if (value.isIntegralNumber() && value.canConvertToLong()) return new ByteSize(value.longValue());
            if (value.isTextual()) return ByteSize.parse(value.textValue());
        } catch (IllegalArgumentException e) {
            throw new FieldException(field, VmSpec.printable(e.getMessage()));
        }
        throw new FieldException(field, "expected a size such as \"256M\" or a number of bytes, got " + kind(value));
    }

    private static MacAddress mac(String field, JsonNode value) {
        try {
            return MacAddress.parse(text(field, value));
        } catch (FieldException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new FieldException(field, VmSpec.printable(e.getMessage()));
        }
    }

    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> node.isIntegralNumber() ? "the number " + VmSpec.printable(node.asText()) : "a fraction";
            case BOOLEAN -> node.asText();
            case OBJECT -> "an object";
            case ARRAY -> "an array";
            case NULL -> "null";
            default -> "something else";
        };
    }
}
