package io.aether.sync;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Key-wise three-way merge of JSON configuration: objects are merged key by key (recursively);
 * a key changed on one side takes that side; changed identically on both, either; changed
 * differently on both, a conflict naming the key path. Arrays and scalars are values. The merge
 * is written back pretty-printed with two-space indentation, keys in our order then theirs'.
 */
final class JsonMerge {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Merged bytes (when clean) and the conflicting key paths. */
    record Result(byte[] merged, List<String> conflicts) {
        boolean clean() {
            return conflicts.isEmpty();
        }
    }

    private JsonMerge() {
    }

    /** Parses JSON, or returns null when {@code bytes} is not JSON. */
    static JsonNode parse(byte[] bytes) {
        try {
            JsonNode n = MAPPER.readTree(bytes);
            return n == null || n.isMissingNode() ? null : n;
        } catch (java.io.IOException e) {
            // Not JSON: the caller falls back to a line merge.
            return null;
        }
    }

    /** Merges; {@code base} may be null (the file was added on both sides). */
    static Result merge(JsonNode base, JsonNode ours, JsonNode theirs) {
        List<String> conflicts = new ArrayList<>();
        JsonNode merged = mergeNode(base, ours, theirs, "", conflicts);
        if (!conflicts.isEmpty()) {
            return new Result(null, conflicts);
        }
        try {
            return new Result((MAPPER.writeValueAsString(merged) + "\n").getBytes(StandardCharsets.UTF_8), conflicts);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed JSON tree always serializes", e);
        }
    }

    /** The merged node, or null for "absent". */
    private static JsonNode mergeNode(JsonNode base, JsonNode ours, JsonNode theirs, String path, List<String> conflicts) {
        if (java.util.Objects.equals(ours, theirs)) {
            return ours;
        }
        if (java.util.Objects.equals(base, ours)) {
            return theirs;
        }
        if (java.util.Objects.equals(base, theirs)) {
            return ours;
        }
        if (ours instanceof ObjectNode o && theirs instanceof ObjectNode t && (base == null || base instanceof ObjectNode)) {
            ObjectNode out = MAPPER.createObjectNode();
            Set<String> keys = new LinkedHashSet<>();
            o.fieldNames().forEachRemaining(keys::add);
            t.fieldNames().forEachRemaining(keys::add);
            for (String key : keys) {
                JsonNode b = base == null ? null : base.get(key);
                JsonNode m = mergeNode(b, o.get(key), t.get(key), path.isEmpty() ? key : path + "." + key, conflicts);
                if (m != null) {
                    out.set(key, m);
                }
            }
            return out;
        }
        conflicts.add(path.isEmpty() ? "(top level)" : path);
        return ours;
    }
}
