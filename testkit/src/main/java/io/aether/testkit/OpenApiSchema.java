package io.aether.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Checks a JSON value against a schema of an OpenAPI 3.1 document: the parts of JSON Schema the
 * agent's document uses ({@code $ref}, {@code type}, {@code required}, {@code properties},
 * {@code additionalProperties}, {@code items}, {@code enum}, {@code oneOf}, {@code pattern},
 * {@code minimum}, {@code maximum}, {@code maxLength}, {@code maxProperties}). A keyword it does
 * not know fails the check, so that the document cannot quietly say more than is checked.
 */
public final class OpenApiSchema {

    private static final List<String> KNOWN = List.of("$ref", "type", "required", "properties", "additionalProperties", "items",
            "enum", "oneOf", "pattern", "minimum", "maximum", "maxLength", "maxProperties", "description", "default", "format",
            "contentEncoding");

    private final JsonNode document;

    public OpenApiSchema(JsonNode document) {
        this.document = document;
    }

    /** The schema of a response: {@code paths[path][method].responses[status]}, following a response {@code $ref}. */
    public JsonNode responseSchema(String path, String method, int status, String mediaType) {
        JsonNode response = document.path("paths").path(path).path(method).path("responses").path(Integer.toString(status));
        if (response.isMissingNode()) throw new AssertionError(method + " " + path + " does not document status " + status);
        if (response.has("$ref")) response = resolve(response.get("$ref").asText());
        JsonNode schema = response.path("content").path(mediaType).path("schema");
        if (schema.isMissingNode()) throw new AssertionError(method + " " + path + " " + status + " has no " + mediaType + " schema");
        return schema;
    }

    /** The problems of {@code value} against {@code schema}, each naming where; empty when it conforms. */
    public List<String> check(JsonNode value, JsonNode schema) {
        List<String> problems = new ArrayList<>();
        check(value, schema, "$", problems);
        return problems;
    }

    private void check(JsonNode value, JsonNode schema, String at, List<String> problems) {
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String keyword = it.next();
            if (!KNOWN.contains(keyword)) problems.add(at + ": the checker does not know the keyword " + keyword);
        }
        if (schema.has("$ref")) {
            check(value, resolve(schema.get("$ref").asText()), at, problems);
            return;
        }
        if (schema.has("type") && !typeMatches(value, schema.get("type"))) {
            problems.add(at + ": " + value.getNodeType() + " where " + schema.get("type") + " is due");
            return;
        }
        if (schema.has("enum")) {
            boolean found = false;
            for (JsonNode e : schema.get("enum")) found |= e.equals(value);
            if (!found) problems.add(at + ": " + value + " is not one of " + schema.get("enum"));
        }
        if (schema.has("oneOf")) {
            int matching = 0;
            for (JsonNode option : schema.get("oneOf")) {
                if (check(value, option).isEmpty()) matching++;
            }
            if (matching != 1) problems.add(at + ": matches " + matching + " of oneOf's schemas, not exactly one");
        }
        if (value.isTextual()) {
            if (schema.has("pattern") && !Pattern.compile(schema.get("pattern").asText()).matcher(value.asText()).find()) {
                problems.add(at + ": '" + value.asText() + "' does not match " + schema.get("pattern").asText());
            }
            if (schema.has("maxLength") && value.asText().length() > schema.get("maxLength").asInt()) problems.add(at + ": too long");
        }
        if (value.isNumber()) {
            if (schema.has("minimum") && value.asDouble() < schema.get("minimum").asDouble()) problems.add(at + ": below the minimum");
            if (schema.has("maximum") && value.asDouble() > schema.get("maximum").asDouble()) problems.add(at + ": above the maximum");
        }
        if (value.isObject()) {
            for (JsonNode required : schema.path("required")) {
                if (!value.has(required.asText())) problems.add(at + ": " + required.asText() + " is required");
            }
            if (schema.has("maxProperties") && value.size() > schema.get("maxProperties").asInt()) problems.add(at + ": too many properties");
            JsonNode properties = schema.path("properties");
            for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                String where = at + "." + field.getKey();
                if (properties.has(field.getKey())) {
                    check(field.getValue(), properties.get(field.getKey()), where, problems);
                } else if (schema.has("additionalProperties")) {
                    JsonNode extra = schema.get("additionalProperties");
                    if (extra.isBoolean() && !extra.asBoolean()) problems.add(where + ": not in the schema");
                    else if (extra.isObject()) check(field.getValue(), extra, where, problems);
                }
            }
        }
        if (value.isArray() && schema.has("items")) {
            for (int i = 0; i < value.size(); i++) check(value.get(i), schema.get("items"), at + "[" + i + "]", problems);
        }
    }

    private static boolean typeMatches(JsonNode value, JsonNode type) {
        if (type.isArray()) {
            for (JsonNode t : type) {
                if (typeMatches(value, t)) return true;
            }
            return false;
        }
        return switch (type.asText()) {
            case "object" -> value.isObject();
            case "array" -> value.isArray();
            case "string" -> value.isTextual();
            case "integer" -> value.isIntegralNumber();
            case "number" -> value.isNumber();
            case "boolean" -> value.isBoolean();
            case "null" -> value.isNull();
            default -> throw new AssertionError("unknown type " + type);
        };
    }

    private JsonNode resolve(String ref) {
        if (!ref.startsWith("#/")) throw new AssertionError("only local references are used: " + ref);
        JsonNode target = document.at(ref.substring(1));
        if (target.isMissingNode()) throw new AssertionError("dangling reference " + ref);
        return target;
    }
}
