package io.aether.monitorapi;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.common.FieldException;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The control protocol's wire: one JSON object per line each way, UTF-8, one request per
 * connection (a console stream excepted, see {@link ControlRequest.ConsoleAttach}).
 *
 * <pre>{@code
 * -> {"op":"pause"}
 * <- {"ok":"status","state":"paused","spec":{...},"pid":4242}
 * -> {"op":"snapshot","directory":"/var/lib/aether/vm1/snap","resume":false,"progress":true}
 * <- {"ok":"progress","done":16777216,"total":268435456}   (with "progress": true, while memory is written)
 * <- {"ok":"snapshot","memoryBytes":268435456,"memoryDataBytes":1228800,"stateBytes":9321,"millis":84}
 * -> {"op":"stop","graceful":false,"timeoutMillis":0}
 * <- {"error":"conflict","message":"cannot stop: the VM is stopped"}
 * }</pre>
 *
 * Reading is strict: an unknown {@code op}, an unknown or missing field, or a value of the wrong
 * kind is an {@link IllegalArgumentException} naming the field, and a line over its limit is
 * refused before it is parsed.
 */
public final class ControlCodec {

    /**
     * A request is a few dozen bytes, a launch a spec and two paths: this bounds what a client
     * can make the monitor read.
     */
    public static final int MAX_REQUEST_LINE = VmSpecJson.MAX_CHARS + 16 * 1024;
    /**
     * A status carries the VM's spec, at most {@link VmSpecJson#MAX_CHARS}; the metrics of the
     * largest VM (254 vCPUs with 12 counters each, 18 disks and NICs with about 40 each) come to
     * about 250 KB with every value at its widest.
     */
    public static final int MAX_RESPONSE_LINE = 512 * 1024;
    /** The longest snapshot directory a request may name (Linux's PATH_MAX). */
    public static final int MAX_PATH_CHARS = 4096;

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private ControlCodec() {
    }

    /** The request as one line, its line feed included. */
    public static String write(ControlRequest request) {
        ObjectNode o = MAPPER.createObjectNode().put("op", op(request));
        switch (request) {
            case ControlRequest.Stop s -> o.put("graceful", s.graceful()).put("timeoutMillis", s.timeout().toMillis());
            case ControlRequest.ConsoleAttach a -> o.put("replay", a.replay());
            case ControlRequest.AwaitStarted a -> o.put("timeoutMillis", a.timeout().toMillis());
            case ControlRequest.Launch l -> {
                o.set("spec", tree(VmSpecJson.write(l.spec())));
                l.consoleLog().ifPresent(p -> o.put("consoleLog", p.toString()));
                l.socket().ifPresent(p -> o.put("socket", p.toString()));
            }
            case ControlRequest.Restore r -> {
                o.put("snapshot", r.snapshot().toString()).put("allowClone", r.allowClone());
                r.consoleLog().ifPresent(p -> o.put("consoleLog", p.toString()));
                r.socket().ifPresent(p -> o.put("socket", p.toString()));
            }
            case ControlRequest.Snapshot s -> o.put("directory", s.directory().toString()).put("resume", s.resume())
                    .put("progress", s.progress());
            case ControlRequest.State s -> { }
            case ControlRequest.Pause p -> { }
            case ControlRequest.Resume r -> { }
            case ControlRequest.Metrics m -> { }
            case ControlRequest.ConsoleDetach d -> { }
        }
        return o + "\n";
    }

    /** The request's name on the wire: {@code pause}. */
    public static String op(ControlRequest request) {
        return switch (request) {
            case ControlRequest.State s -> "state";
            case ControlRequest.AwaitStarted a -> "await-started";
            case ControlRequest.Pause p -> "pause";
            case ControlRequest.Resume r -> "resume";
            case ControlRequest.Stop s -> "stop";
            case ControlRequest.Metrics m -> "metrics";
            case ControlRequest.ConsoleAttach a -> "console-attach";
            case ControlRequest.ConsoleDetach d -> "console-detach";
            case ControlRequest.Launch l -> "launch";
            case ControlRequest.Restore r -> "restore";
            case ControlRequest.Snapshot s -> "snapshot";
        };
    }

    /** The response as one line, its line feed included. */
    public static String write(ControlResponse response) {
        ObjectNode o = MAPPER.createObjectNode();
        switch (response) {
            case ControlResponse.Status s -> {
                o.put("ok", "status").put("state", s.state().id());
                s.reason().ifPresent(r -> o.put("reason", r));
                o.set("spec", tree(VmSpecJson.write(s.spec())));
                o.put("pid", s.pid());
            }
            case ControlResponse.Metrics m -> {
                o.put("ok", "metrics");
                ObjectNode values = o.putObject("values");
                new TreeMap<>(m.values()).forEach(values::put);
            }
            case ControlResponse.ConsoleAttached a -> o.put("ok", "console-attached");
            case ControlResponse.Standby s -> o.put("ok", "standby").put("pid", s.pid());
            case ControlResponse.Refused r -> o.put("error", r.code()).put("message", r.message());
            case ControlResponse.SnapshotTaken t -> o.put("ok", "snapshot").put("memoryBytes", t.memoryBytes())
                    .put("memoryDataBytes", t.memoryDataBytes()).put("stateBytes", t.stateBytes()).put("millis", t.millis());
            case ControlResponse.Progress p -> o.put("ok", "progress").put("done", p.done()).put("total", p.total());
        }
        return o + "\n";
    }

    /** Reads a request line (without its line feed). */
    public static ControlRequest readRequest(String line) {
        Fields f = Fields.of(tree(line));
        String op = f.text("op");
        return switch (op) {
            case "state" -> f.only(new ControlRequest.State());
            case "pause" -> f.only(new ControlRequest.Pause());
            case "resume" -> f.only(new ControlRequest.Resume());
            case "metrics" -> f.only(new ControlRequest.Metrics());
            case "console-detach" -> f.only(new ControlRequest.ConsoleDetach());
            case "console-attach" -> f.only(new ControlRequest.ConsoleAttach(f.bool("replay")), "replay");
            case "await-started" -> {
                long millis = f.number("timeoutMillis");
                if (millis < 0 || millis > ControlRequest.MAX_START_WAIT.toMillis()) {
                    throw new IllegalArgumentException("timeoutMillis: " + millis + " is out of range (0 to "
                            + ControlRequest.MAX_START_WAIT.toMillis() + ")");
                }
                yield f.only(new ControlRequest.AwaitStarted(Duration.ofMillis(millis)), "timeoutMillis");
            }
            case "stop" -> {
                long millis = f.number("timeoutMillis");
                if (millis < 0 || millis > ControlRequest.MAX_STOP_TIMEOUT.toMillis()) {
                    throw new IllegalArgumentException("timeoutMillis: " + millis + " is out of range (0 to "
                            + ControlRequest.MAX_STOP_TIMEOUT.toMillis() + ")");
                }
                yield f.only(new ControlRequest.Stop(f.bool("graceful"), Duration.ofMillis(millis)), "graceful", "timeoutMillis");
            }
            case "snapshot" -> {
                Path path = f.path("directory");
                boolean resume = f.node.has("resume") && f.bool("resume");
                boolean progress = f.node.has("progress") && f.bool("progress");
                yield f.only(new ControlRequest.Snapshot(path, resume, progress), "directory", "resume", "progress");
            }
            case "restore" -> {
                Path snapshot = f.path("snapshot");
                boolean allowClone = f.node.has("allowClone") && f.bool("allowClone");
                yield f.only(new ControlRequest.Restore(snapshot, allowClone, f.optionalPath("consoleLog"), f.optionalPath("socket")),
                        "snapshot", "allowClone", "consoleLog", "socket");
            }
            case "launch" -> f.only(new ControlRequest.Launch(f.spec(), f.optionalPath("consoleLog"), f.optionalPath("socket")),
                    "spec", "consoleLog", "socket");
            default -> throw new IllegalArgumentException("op: unknown operation '" + printable(op)
                    + "' (known: state, await-started, pause, resume, stop, metrics, snapshot, console-attach, console-detach, launch, restore)");
        };
    }

    /** Reads a response line (without its line feed). */
    public static ControlResponse readResponse(String line) {
        Fields f = Fields.of(tree(line));
        if (f.node.has("error")) {
            return f.only(new ControlResponse.Refused(f.text("error"), f.text("message")), "error", "message");
        }
        String ok = f.text("ok");
        return switch (ok) {
            case "status" -> {
                Optional<String> reason = f.node.has("reason") ? Optional.of(f.text("reason")) : Optional.empty();
                ControlResponse.Status status = new ControlResponse.Status(VmState.parse(f.text("state")), reason, f.spec(), f.number("pid"));
                yield f.only(status, "ok", "state", "reason", "spec", "pid");
            }
            case "standby" -> f.only(new ControlResponse.Standby(f.number("pid")), "ok", "pid");
            case "metrics" -> {
                JsonNode values = f.node.get("values");
                if (values == null || !values.isObject()) throw new IllegalArgumentException("values: expected an object");
                Map<String, Long> out = new LinkedHashMap<>();
                for (Iterator<Map.Entry<String, JsonNode>> it = values.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (!e.getValue().isIntegralNumber() || !e.getValue().canConvertToLong()) {
                        throw new IllegalArgumentException("values." + printable(e.getKey()) + ": expected a whole number");
                    }
                    out.put(e.getKey(), e.getValue().longValue());
                }
                yield f.only(new ControlResponse.Metrics(out), "ok", "values");
            }
            case "console-attached" -> f.only(new ControlResponse.ConsoleAttached(), "ok");
            case "snapshot" -> f.only(new ControlResponse.SnapshotTaken(f.number("memoryBytes"), f.number("memoryDataBytes"),
                    f.number("stateBytes"), f.number("millis")), "ok", "memoryBytes", "memoryDataBytes", "stateBytes", "millis");
            case "progress" -> f.only(new ControlResponse.Progress(f.number("done"), f.number("total")), "ok", "done", "total");
            default -> throw new IllegalArgumentException("ok: unknown answer '" + printable(ok) + "'");
        };
    }

    /**
     * Reads one line of at most {@code max} bytes before its line feed; null at the end of the
     * stream before any byte.
     *
     * @throws IOException for a longer line, or a stream that ends inside one
     */
    public static String readLine(InputStream in, int max) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                if (line.size() == 0) return null;
                throw new IOException("the connection ended inside a line");
            }
            if (b == '\n') return line.toString(StandardCharsets.UTF_8);
            if (line.size() == max) throw new IOException("a line longer than " + max + " bytes");
            line.write(b);
        }
    }

    /** {@code text} with control characters shown as {@code ?}, cut to 64 characters, for one-line messages. */
    static String printable(String text) {
        String cut = text.length() > 64 ? text.substring(0, 64) + "..." : text;
        return cut.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }

    private static JsonNode tree(String json) {
        try (JsonParser parser = MAPPER.createParser(json)) {
            JsonNode tree = MAPPER.readTree(parser);
            if (tree == null || parser.nextToken() != null) throw new IllegalArgumentException("line: expected one JSON object");
            return tree;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("line: not JSON: " + printable(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new IllegalArgumentException("line: " + printable(String.valueOf(e.getMessage())));
        }
    }

    /** One object's fields, read strictly. */
    private record Fields(JsonNode node) {

        static Fields of(JsonNode node) {
            if (!node.isObject()) throw new IllegalArgumentException("line: expected a JSON object");
            return new Fields(node);
        }

        JsonNode required(String name) {
            JsonNode v = node.get(name);
            if (v == null || v.isNull()) throw new IllegalArgumentException(name + ": missing");
            return v;
        }

        String text(String name) {
            JsonNode v = required(name);
            if (!v.isTextual()) throw new IllegalArgumentException(name + ": expected a string");
            return v.textValue();
        }

        /** The {@code spec} field; its errors name the field within it ({@code spec.memory: ...}). */
        VmSpec spec() {
            JsonNode spec = node.get("spec");
            if (spec == null) throw new IllegalArgumentException("spec: missing");
            try {
                return VmSpecJson.read(spec.toString());
            } catch (FieldException e) {
                throw new IllegalArgumentException("spec." + e.getMessage(), e);
            }
        }

        /** A required path: 1 to {@link #MAX_PATH_CHARS} characters, no NUL. */
        Path path(String name) {
            String text = text(name);
            if (text.isEmpty() || text.length() > MAX_PATH_CHARS || text.indexOf('\0') >= 0) {
                throw new IllegalArgumentException(name + ": not a path (1 to " + MAX_PATH_CHARS + " characters, no NUL)");
            }
            try {
                return Path.of(text);
            } catch (InvalidPathException e) {
                throw new IllegalArgumentException(name + ": not a path: " + printable(text));
            }
        }

        Optional<Path> optionalPath(String name) {
            if (!node.has(name)) return Optional.empty();
            String text = text(name);
            if (text.isEmpty()) throw new IllegalArgumentException(name + ": empty");
            try {
                return Optional.of(Path.of(text));
            } catch (InvalidPathException e) {
                throw new IllegalArgumentException(name + ": not a path: " + printable(text));
            }
        }

        boolean bool(String name) {
            JsonNode v = required(name);
            if (!v.isBoolean()) throw new IllegalArgumentException(name + ": expected true or false");
            return v.booleanValue();
        }

        long number(String name) {
            JsonNode v = required(name);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) throw new IllegalArgumentException(name + ": expected a whole number");
            return v.longValue();
        }

        /** {@code value}, once no field but {@code op} (or {@code ok}) and {@code known} is present. */
        <T> T only(T value, String... known) {
            Set<String> allowed = new HashSet<>(Set.of(known));
            allowed.add(node.has("op") ? "op" : "ok");
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                if (!allowed.contains(name)) throw new IllegalArgumentException(printable(name) + ": unknown field");
            }
            return value;
        }
    }
}
