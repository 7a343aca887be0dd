package io.aether.sync;

import java.nio.charset.StandardCharsets;

/**
 * Rules for paths inside a repository. Trees may come from another machine, so a path must not
 * be able to escape the working directory or touch the repository's own directory.
 */
final class Paths {

    static final String STORE_DIR = ".aether";
    static final int MAX_PATH_BYTES = 4096;

    private Paths() {
    }

    /** Why {@code path} is not acceptable, or null if it is. */
    static String problem(String path) {
        if (path == null || path.isEmpty()) {
            return "empty path";
        }
        if (path.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
            return "path longer than " + MAX_PATH_BYTES + " bytes";
        }
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\\') {
                return "control character or backslash in path";
            }
        }
        if (!StandardCharsets.UTF_8.newEncoder().canEncode(path)) {
            return "not valid Unicode (unpaired surrogate)";
        }
        if (path.startsWith("/")) {
            return "absolute paths are not allowed";
        }
        String[] parts = path.split("/", -1);
        for (String p : parts) {
            if (p.isEmpty()) {
                return "empty segments ('//' or a trailing '/') are not allowed";
            }
            if (p.equals(".") || p.equals("..")) {
                return "'.' and '..' segments are not allowed";
            }
        }
        if (parts[0].equals(STORE_DIR)) {
            return "inside the repository's own " + STORE_DIR + " directory";
        }
        return null;
    }

    /** {@code path}, or an {@link IllegalArgumentException} with the reason and the path: "absolute paths are not allowed: /x". */
    static String requireValid(String path) {
        String p = problem(path);
        if (p != null) {
            throw new IllegalArgumentException(path == null || path.isEmpty() ? p : p + ": " + printable(path));
        }
        return path;
    }

    /** {@code path} with control characters escaped, safe to print on a terminal. */
    static String printable(String path) {
        StringBuilder sb = new StringBuilder(path.length());
        path.chars().forEach(c -> sb.append(c < 0x20 || c == 0x7f ? String.format("\\u%04x", c) : String.valueOf((char) c)));
        return sb.toString();
    }
}
