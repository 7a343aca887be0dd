package io.aether.vmspec;

import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import io.aether.common.Json;
import io.aether.common.MacAddress;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
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

    private VmSpecJson() {
    }

    /** The spec as one line of JSON, every field written (an absent initrd or MAC is left out). */
    public static String write(VmSpec spec) {
        return tree(spec).write();
    }

    /** The spec as a JSON tree, for a message that carries it (the monitor's launch and status). */
    public static Json.Obj tree(VmSpec spec) {
        Json.ObjectBuilder boot = Json.object();
        switch (spec.boot()) {
            case VmSpec.Boot.Linux linux -> {
                boot.put("kernel", linux.kernel().toString());
                linux.initrd().ifPresent(i -> boot.put("initrd", i.toString()));
                boot.put("cmdline", linux.cmdline());
            }
            case VmSpec.Boot.Stub stub -> boot.put("stub", stub.program().id());
        }
        List<Json> disks = new ArrayList<>();
        for (VmSpec.Disk d : spec.disks()) {
            Json.ObjectBuilder disk = Json.object().put("path", d.path().toString()).put("readOnly", d.readOnly());
            d.rateLimit().ifPresent(l -> disk.put("rateLimit", limit(l)));
            disks.add(disk.build());
        }
        List<Json> nics = new ArrayList<>();
        for (VmSpec.Nic n : spec.nics()) {
            Json.ObjectBuilder nic = Json.object().put("tap", n.tap());
            n.mac().ifPresent(m -> nic.put("mac", m.toString()));
            n.rxRateLimit().ifPresent(l -> nic.put("rxRateLimit", limit(l)));
            n.txRateLimit().ifPresent(l -> nic.put("txRateLimit", limit(l)));
            nics.add(nic.build());
        }
        return Json.object().put("boot", boot.build()).put("memory", spec.memory().toString()).put("vcpus", spec.vcpus())
                .put("disks", new Json.Arr(disks)).put("nics", new Json.Arr(nics)).put("onReboot", spec.onReboot().id()).build();
    }

    /** The limit's fields that are set (not 0). */
    private static Json.Obj limit(VmSpec.RateLimit limit) {
        Json.ObjectBuilder out = Json.object();
        if (limit.bytesPerSecond() != 0) out.put("bytesPerSecond", limit.bytesPerSecond());
        if (limit.opsPerSecond() != 0) out.put("opsPerSecond", limit.opsPerSecond());
        if (limit.bytesBurst() != 0) out.put("bytesBurst", limit.bytesBurst());
        if (limit.opsBurst() != 0) out.put("opsBurst", limit.opsBurst());
        return out.build();
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
        Json tree;
        try {
            tree = Json.parse(json).orElseThrow(() -> new FieldException("spec", "empty"));
        } catch (Json.SyntaxError e) {
            String where = "line " + e.line() + ", column " + e.column();
            throw new FieldException("spec", e.trailing() ? "more after the spec at " + where : "not JSON at " + where + ": " + e.problem());
        }
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

    private static VmSpec.Boot boot(Fields boot) {
        Optional<Json> stub = boot.optional("stub");
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
    private record Fields(String path, Json.Obj node) {

        static Fields of(String path, Json node, String... known) {
            if (!(node instanceof Json.Obj object)) throw new FieldException(path.isEmpty() ? "spec" : path, "expected an object, got " + kind(node));
            Set<String> names = Set.of(known);
            for (String name : object.fields().keySet()) {
                if (!names.contains(name)) {
                    throw new FieldException(child(path, VmSpec.printable(name)), "unknown field (known: " + String.join(", ", known) + ")");
                }
            }
            return new Fields(path, object);
        }

        String field(String name) {
            return child(path, name);
        }

        /** The field's value; JSON null counts as absent. */
        Optional<Json> optional(String name) {
            return node.get(name);
        }

        Json required(String name) {
            return optional(name).orElseThrow(() -> new FieldException(field(name), "missing"));
        }

        String string(String name) {
            return text(field(name), required(name));
        }

        Path path(String name) {
            return VmSpecJson.path(field(name), required(name));
        }

        /** Each element of an optional array field, read by {@code element(field, node)}. */
        <T> List<T> list(String name, BiFunction<String, Json, T> element) {
            Optional<Json> value = optional(name);
            if (value.isEmpty()) return List.of();
            if (!(value.get() instanceof Json.Arr array)) throw new FieldException(field(name), "expected an array, got " + kind(value.get()));
            List<T> out = new ArrayList<>(array.elements().size());
            for (int i = 0; i < array.elements().size(); i++) out.add(element.apply(field(name) + "[" + i + "]", array.elements().get(i)));
            return out;
        }

        private static String child(String path, String name) {
            return path.isEmpty() ? name : path + "." + name;
        }
    }

    private static String text(String field, Json value) {
        if (!(value instanceof Json.Str text)) throw new FieldException(field, "expected a string, got " + kind(value));
        return text.value();
    }

    private static Path path(String field, Json value) {
        String text = text(field, value);
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new FieldException(field, "not a path: '" + VmSpec.printable(text) + "'");
        }
    }

    private static int wholeNumber(String field, Json value) {
        if (value instanceof Json.Whole whole && whole.asInt().isPresent()) return whole.asInt().get();
        throw new FieldException(field, "expected a whole number, got " + kind(value));
    }

    private static VmSpec.RateLimit rateLimit(String field, Json value) {
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

    private static long wholeLong(String field, Json value) {
        if (value instanceof Json.Whole whole && whole.asLong().isPresent()) return whole.asLong().get();
        throw new FieldException(field, "expected a whole number, got " + kind(value));
    }

    private static boolean bool(String field, Json value) {
        if (!(value instanceof Json.Bool bool)) throw new FieldException(field, "expected true or false, got " + kind(value));
        return bool.value();
    }

    /** {@code "256M"} as users write sizes, or a number of bytes. */
    private static ByteSize size(String field, Json value) {
        try {
            if (value instanceof Json.Whole whole && whole.asLong().isPresent()) return new ByteSize(whole.asLong().get());
            if (value instanceof Json.Str text) return ByteSize.parse(text.value());
        } catch (IllegalArgumentException e) {
            throw new FieldException(field, VmSpec.printable(e.getMessage()));
        }
        throw new FieldException(field, "expected a size such as \"256M\" or a number of bytes, got " + kind(value));
    }

    private static MacAddress mac(String field, Json value) {
        try {
            return MacAddress.parse(text(field, value));
        } catch (FieldException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new FieldException(field, VmSpec.printable(e.getMessage()));
        }
    }

    private static String kind(Json value) {
        return switch (value) {
            case Json.Str s -> "a string";
            case Json.Whole w -> "the number " + VmSpec.printable(w.value().toString());
            case Json.Fraction f -> "a fraction";
            case Json.Bool b -> String.valueOf(b.value());
            case Json.Obj o -> "an object";
            case Json.Arr a -> "an array";
            case Json.Null n -> "null";
        };
    }
}
