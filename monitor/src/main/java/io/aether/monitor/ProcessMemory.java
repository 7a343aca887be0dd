package io.aether.monitor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The monitor's memory as the kernel counts it, from {@code /proc/self/smaps_rollup} (proc(5)):
 * what it has resident, its proportional share of pages shared with other processes, and what
 * only it maps (clean and dirty private pages: its USS).
 */
record ProcessMemory(long rssBytes, long pssBytes, long privateBytes) {

    static final Path SELF = Path.of("/proc/self/smaps_rollup");
    /** The file is about 1 KiB; anything much larger is not what we think it is. */
    static final int MAX_BYTES = 64 * 1024;

    static ProcessMemory read(Path file) throws IOException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        }
        if (bytes.length > MAX_BYTES) throw new IOException(file + ": larger than " + MAX_BYTES + " bytes");
        return parse(file.toString(), new String(bytes, StandardCharsets.US_ASCII));
    }

    /** The rollup's {@code Rss}, {@code Pss}, {@code Private_Clean} and {@code Private_Dirty} lines, in kB. */
    static ProcessMemory parse(String source, String text) throws IOException {
        long rss = -1;
        long pss = -1;
        long privateClean = -1;
        long privateDirty = -1;
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0 || !line.endsWith(" kB")) continue; // the header line, and fields that are not sizes
            String name = line.substring(0, colon);
            switch (name) {
                case "Rss" -> rss = kib(source, name, line, colon);
                case "Pss" -> pss = kib(source, name, line, colon);
                case "Private_Clean" -> privateClean = kib(source, name, line, colon);
                case "Private_Dirty" -> privateDirty = kib(source, name, line, colon);
                default -> { }
            }
        }
        if (rss < 0) throw new IOException(source + ": no Rss line");
        if (pss < 0) throw new IOException(source + ": no Pss line");
        if (privateClean < 0 || privateDirty < 0) throw new IOException(source + ": no Private_Clean or Private_Dirty line");
        return new ProcessMemory(rss, pss, privateClean + privateDirty);
    }

    private static long kib(String source, String name, String line, int colon) throws IOException {
        String value = line.substring(colon + 1, line.length() - " kB".length()).strip();
        if (!isDecimal(value, 15)) throw new IOException(source + ": " + name + " is not a size in kB: '" + value + "'");
        return Long.parseLong(value) * 1024;
    }

    /** 1 to {@code maxDigits} ASCII digits; by hand, since a regular expression would load java.util.regex into every monitor a metrics request reaches. */
    private static boolean isDecimal(String value, int maxDigits) {
        if (value.isEmpty() || value.length() > maxDigits) return false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') return false;
        }
        return true;
    }
}
