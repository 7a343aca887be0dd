package io.aether.monitorapi;

import io.aether.common.FieldException;
import io.aether.common.Json;
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

    private ControlCodec() {
    }

    /** The request as one line, its line feed included. */
    public static String write(ControlRequest request) {
        Json.ObjectBuilder o = Json.object().put("op", op(request));
        switch (request) {
            case ControlRequest.Stop s -> o.put("graceful", s.graceful()).put("timeoutMillis", s.timeout().toMillis());
            case ControlRequest.ConsoleAttach a -> o.put("replay", a.replay());
            case ControlRequest.AwaitStarted a -> o.put("timeoutMillis", a.timeout().toMillis());
            case ControlRequest.Launch l -> {
                o.put("spec", VmSpecJson.tree(l.spec()));
                l.consoleLog().ifPresent(p -> o.put("consoleLog", p.toString()));
                l.socket().ifPresent(p -> o.put("socket", p.toString()));
                if (l.awaitGo()) o.put("awaitGo", true);
            }
            case ControlRequest.Restore r -> {
                o.put("snapshot", r.snapshot().toString()).put("allowClone", r.allowClone());
                r.consoleLog().ifPresent(p -> o.put("consoleLog", p.toString()));
                r.socket().ifPresent(p -> o.put("socket", p.toString()));
                if (r.awaitGo()) o.put("awaitGo", true);
            }
            case ControlRequest.Go g -> { }
            case ControlRequest.Snapshot s -> o.put("directory", s.directory().toString()).put("resume", s.resume())
                    .put("progress", s.progress());
            case ControlRequest.State s -> { }
            case ControlRequest.Pause p -> { }
            case ControlRequest.Resume r -> { }
            case ControlRequest.Metrics m -> { }
            case ControlRequest.ConsoleDetach d -> { }
        }
        return o.build().write() + "\n";
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
            case ControlRequest.Go g -> "go";
        };
    }

    /** The response as one line, its line feed included. */
    public static String write(ControlResponse response) {
        Json.ObjectBuilder o = Json.object();
        switch (response) {
            case ControlResponse.Status s -> {
                o.put("ok", "status").put("state", s.state().id());
                s.reason().ifPresent(r -> o.put("reason", r));
                o.put("spec", VmSpecJson.tree(s.spec()));
                o.put("pid", s.pid());
            }
            case ControlResponse.Metrics m -> {
                o.put("ok", "metrics");
                Json.ObjectBuilder values = Json.object();
                new TreeMap<>(m.values()).forEach(values::put);
                o.put("values", values.build());
            }
            case ControlResponse.ConsoleAttached a -> o.put("ok", "console-attached");
            case ControlResponse.Standby s -> o.put("ok", "standby").put("pid", s.pid());
            case ControlResponse.Refused r -> o.put("error", r.code()).put("message", r.message());
            case ControlResponse.SnapshotTaken t -> o.put("ok", "snapshot").put("memoryBytes", t.memoryBytes())
                    .put("memoryDataBytes", t.memoryDataBytes()).put("stateBytes", t.stateBytes()).put("millis", t.millis());
            case ControlResponse.Progress p -> o.put("ok", "progress").put("done", p.done()).put("total", p.total());
        }
        return o.build().write() + "\n";
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
            case "go" -> f.only(new ControlRequest.Go());
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
                boolean awaitGo = f.node.has("awaitGo") && f.bool("awaitGo");
                yield f.only(new ControlRequest.Restore(snapshot, allowClone, f.optionalPath("consoleLog"), f.optionalPath("socket"), awaitGo),
                        "snapshot", "allowClone", "consoleLog", "socket", "awaitGo");
            }
            case "launch" -> {
                boolean awaitGo = f.node.has("awaitGo") && f.bool("awaitGo");
                yield f.only(new ControlRequest.Launch(f.spec(), f.optionalPath("consoleLog"), f.optionalPath("socket"), awaitGo),
                        "spec", "consoleLog", "socket", "awaitGo");
            }
            default -> throw new IllegalArgumentException("op: unknown operation '" + printable(op)
                    + "' (known: state, await-started, pause, resume, stop, metrics, snapshot, console-attach, console-detach, launch, restore, go)");
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
                if (!(f.node.fields().get("values") instanceof Json.Obj values)) throw new IllegalArgumentException("values: expected an object");
                Map<String, Long> out = new LinkedHashMap<>();
                for (Map.Entry<String, Json> e : values.fields().entrySet()) {
                    if (!(e.getValue() instanceof Json.Whole whole) || whole.asLong().isEmpty()) {
                        throw new IllegalArgumentException("values." + printable(e.getKey()) + ": expected a whole number");
                    }
                    out.put(e.getKey(), whole.asLong().get());
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

    private static Json tree(String line) {
        try {
            return Json.parse(line).orElseThrow(() -> new IllegalArgumentException("line: expected one JSON object"));
        } catch (Json.SyntaxError e) {
            if (e.trailing()) throw new IllegalArgumentException("line: expected one JSON object");
            throw new IllegalArgumentException("line: not JSON: " + e.problem());
        }
    }

    /** One object's fields, read strictly. */
    private record Fields(Json.Obj node) {

        static Fields of(Json node) {
            if (!(node instanceof Json.Obj object)) throw new IllegalArgumentException("line: expected a JSON object");
            return new Fields(object);
        }

        Json required(String name) {
            return node.get(name).orElseThrow(() -> new IllegalArgumentException(name + ": missing"));
        }

        String text(String name) {
            if (!(required(name) instanceof Json.Str text)) throw new IllegalArgumentException(name + ": expected a string");
            return text.value();
        }

        /** The {@code spec} field; its errors name the field within it ({@code spec.memory: ...}). */
        VmSpec spec() {
            Json spec = node.fields().get("spec");
            if (spec == null) throw new IllegalArgumentException("spec: missing");
            try {
                return VmSpecJson.read(spec.write()); // as text: the spec's own size limit holds
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
            if (!(required(name) instanceof Json.Bool bool)) throw new IllegalArgumentException(name + ": expected true or false");
            return bool.value();
        }

        long number(String name) {
            if (required(name) instanceof Json.Whole whole && whole.asLong().isPresent()) return whole.asLong().get();
            throw new IllegalArgumentException(name + ": expected a whole number");
        }

        /** {@code value}, once no field but {@code op} (or {@code ok}) and {@code known} is present. */
        <T> T only(T value, String... known) {
            Set<String> allowed = new HashSet<>(Set.of(known));
            allowed.add(node.has("op") ? "op" : "ok");
            for (String name : node.fields().keySet()) {
                if (!allowed.contains(name)) throw new IllegalArgumentException(printable(name) + ": unknown field");
            }
            return value;
        }
    }
}
