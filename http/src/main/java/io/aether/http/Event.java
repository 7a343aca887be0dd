package io.aether.http;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * One server-sent event.
 *
 * @param type the {@code event:} field, a word like {@code state} or {@code console}
 * @param data the {@code data:} payload; line feeds split it over several {@code data:} lines,
 *             carriage returns are refused (SSE would read them as line ends)
 */
public record Event(String type, String data) {

    private static final Pattern TYPE = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    public Event {
        if (type == null || !TYPE.matcher(type).matches()) {
            throw new IllegalArgumentException("event type must be 1 to 64 letters, digits, '.', '_' or '-', got '" + type + "'");
        }
        if (data == null || data.indexOf('\r') >= 0) {
            throw new IllegalArgumentException("event data must be present and free of carriage returns");
        }
    }

    /** An event whose data is {@code value} as one line of JSON. */
    public static Event json(String type, Object value) {
        return new Event(type, new String(Json.write(value), StandardCharsets.UTF_8));
    }

    /** The event in the text/event-stream format, blank line included. */
    byte[] encode() {
        StringBuilder b = new StringBuilder(data.length() + type.length() + 16).append("event: ").append(type).append('\n');
        for (String line : data.split("\n", -1)) {
            b.append("data: ").append(line).append('\n');
        }
        return b.append('\n').toString().getBytes(StandardCharsets.UTF_8);
    }
}
