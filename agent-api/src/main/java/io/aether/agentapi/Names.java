package io.aether.agentapi;

import java.util.Map;
import java.util.regex.Pattern;

/** What the API accepts as VM ids and labels. */
public final class Names {

    /** A VM id: the charset of the http module's path parameters, so every id can be named in a path. */
    public static final Pattern VM_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    public static final int MAX_LABELS = 32;
    private static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,62}");
    private static final int MAX_LABEL_VALUE = 255;

    private Names() {
    }

    /** Throws {@code IllegalArgumentException("id: ...")} unless {@code id} is a valid VM id. */
    public static String requireVmId(String id) {
        if (!VM_ID.matcher(id).matches()) {
            throw new IllegalArgumentException("id: '" + printable(id) + "' is not a VM id (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)");
        }
        return id;
    }

    /** Throws {@code IllegalArgumentException("name: ...")} unless {@code name} is a valid volume name (the rule of VM ids). */
    public static String requireVolumeName(String name) {
        if (!VM_ID.matcher(name).matches()) {
            throw new IllegalArgumentException("name: '" + printable(name) + "' is not a volume name (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)");
        }
        return name;
    }

    /**
     * Throws {@code IllegalArgumentException("FIELD: ...")} unless {@code name} can name a snapshot:
     * a VM id's charset, so that it is one plain directory name and can stand in a path.
     */
    public static String requireSnapshotName(String field, String name) {
        if (!VM_ID.matcher(name).matches()) {
            throw new IllegalArgumentException(field + ": '" + printable(name) + "' is not a snapshot name (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)");
        }
        return name;
    }

    /** A copy of {@code labels}, checked: keys like {@code team} or {@code example.com/tier}, printable values. */
    public static Map<String, String> requireLabels(Map<String, String> labels) {
        if (labels.size() > MAX_LABELS) throw new IllegalArgumentException("labels: " + labels.size() + " labels (at most " + MAX_LABELS + ")");
        for (Map.Entry<String, String> e : labels.entrySet()) {
            String key = e.getKey();
            if (key == null || !LABEL_KEY.matcher(key).matches()) {
                throw new IllegalArgumentException("labels: '" + printable(String.valueOf(key)) + "' is not a label key (1 to 63 letters, digits, '.', '_', '/' or '-')");
            }
            String value = e.getValue();
            if (value == null) throw new IllegalArgumentException("labels." + key + ": expected a string");
            if (value.length() > MAX_LABEL_VALUE || !value.chars().allMatch(c -> c >= ' ' && c < 0x7F)) {
                throw new IllegalArgumentException("labels." + key + ": at most " + MAX_LABEL_VALUE + " printable ASCII characters");
            }
        }
        return Map.copyOf(labels);
    }

    /** Text from outside, fit for a one-line message. */
    static String printable(String text) {
        String cut = text.length() > 64 ? text.substring(0, 64) + "..." : text;
        return cut.codePoints().map(c -> c >= ' ' && c < 0x7F ? c : '?')
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }
}
