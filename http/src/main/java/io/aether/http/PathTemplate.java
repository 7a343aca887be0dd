package io.aether.http;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A route's path: literal segments and whole-segment parameters, {@code /v1/vms/{id}/pause}.
 * A parameter's value is validated before any handler sees it: a name or id of letters, digits,
 * '.', '_' and '-', so that no handler has to worry about '/', '..', spaces or control characters.
 */
record PathTemplate(String text, List<Segment> segments) {

    sealed interface Segment {
        record Literal(String value) implements Segment { }

        record Param(String name) implements Segment { }
    }

    private static final Pattern LITERAL = Pattern.compile("[A-Za-z0-9._~:@!$&'()*+,;=-]+");
    private static final Pattern NAME = Pattern.compile("[a-z][A-Za-z0-9]{0,31}");
    static final Pattern VALUE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    static final String VALUE_RULE = "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit";

    PathTemplate {
        segments = List.copyOf(segments);
    }

    static PathTemplate parse(String text) {
        if (text.equals("/")) {
            return new PathTemplate(text, List.of());
        }
        if (!text.startsWith("/") || text.endsWith("/")) {
            throw new IllegalArgumentException("route path must start with '/' and not end with one: '" + text + "'");
        }
        List<Segment> segments = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (String s : text.substring(1).split("/", -1)) {
            if (s.startsWith("{") && s.endsWith("}")) {
                String name = s.substring(1, s.length() - 1);
                if (!NAME.matcher(name).matches()) {
                    throw new IllegalArgumentException("route parameter '" + name + "' in '" + text + "' is not a name like 'id'");
                }
                if (!names.add(name)) {
                    throw new IllegalArgumentException("route parameter '" + name + "' appears twice in '" + text + "'");
                }
                segments.add(new Segment.Param(name));
            } else if (LITERAL.matcher(s).matches()) {
                segments.add(new Segment.Literal(s));
            } else {
                throw new IllegalArgumentException("route path segment '" + s + "' in '" + text + "' is neither a literal nor {name}");
            }
        }
        return new PathTemplate(text, segments);
    }

    /** Whether the decoded segments have this template's shape (parameters not yet validated). */
    boolean matches(List<String> path) {
        if (path.size() != segments.size()) {
            return false;
        }
        for (int i = 0; i < path.size(); i++) {
            if (segments.get(i) instanceof Segment.Literal l && !l.value().equals(path.get(i))) {
                return false;
            }
        }
        return true;
    }

    /**
     * The parameters of a path that {@link #matches}.
     *
     * @throws ApiException 400 naming the first parameter whose value is not allowed
     */
    Map<String, String> params(List<String> path) {
        var params = new java.util.LinkedHashMap<String, String>();
        for (int i = 0; i < path.size(); i++) {
            if (segments.get(i) instanceof Segment.Param p) {
                if (!VALUE.matcher(path.get(i)).matches()) {
                    throw new ApiError.BadRequest(p.name(), VALUE_RULE).exception();
                }
                params.put(p.name(), path.get(i));
            }
        }
        return params;
    }

    /**
     * Orders templates so that the more specific one wins: at the first segment where they
     * differ, a literal beats a parameter ({@code /v1/vms/stats} over {@code /v1/vms/{id}}).
     */
    int specificity(PathTemplate other) {
        for (int i = 0; i < segments.size(); i++) {
            boolean mine = segments.get(i) instanceof Segment.Literal;
            boolean theirs = other.segments.get(i) instanceof Segment.Literal;
            if (mine != theirs) {
                return mine ? 1 : -1;
            }
        }
        return 0;
    }

    /** Whether both templates match exactly the same paths (a duplicate route). */
    boolean sameShape(PathTemplate other) {
        if (other.segments.size() != segments.size()) {
            return false;
        }
        for (int i = 0; i < segments.size(); i++) {
            Segment a = segments.get(i);
            Segment b = other.segments.get(i);
            boolean same = a instanceof Segment.Param ? b instanceof Segment.Param : a.equals(b);
            if (!same) {
                return false;
            }
        }
        return true;
    }
}
