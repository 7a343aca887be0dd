package io.aether.cli.model;

import io.aether.sync.Progress;
import java.io.PrintWriter;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** Human-readable numbers and a progress line for long transfers. */
final class Formats {

    static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss Z").withZone(ZoneId.systemDefault());

    private Formats() {
    }

    /** 1536 -> "1.5 KiB". */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /**
     * A progress line on stderr, redrawn at most every 200 ms and finished with a newline; drawn
     * only when stderr is a terminal, so logs and pipes get the summary alone.
     */
    static final class ProgressLine implements Progress {
        private final PrintWriter err;
        private final boolean enabled = System.console() != null && System.console().isTerminal();
        private long lastDraw;
        private String lastPhase;
        private boolean drawn;

        ProgressLine(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void update(String phase, long done, long total, long bytes) {
            if (!enabled) {
                return;
            }
            long now = System.nanoTime();
            boolean last = done == total;
            if (!phase.equals(lastPhase) && drawn) {
                err.println();
            }
            if (phase.equals(lastPhase) && !last && now - lastDraw < 200_000_000L) {
                return;
            }
            lastPhase = phase;
            lastDraw = now;
            drawn = true;
            String pct = total > 0 ? String.format(Locale.ROOT, "%3d%%", done * 100 / total) : "";
            err.print("\r" + phase + ": " + pct + " (" + done + "/" + total + ")" + (bytes > 0 ? ", " + bytes(bytes) : ""));
            err.flush();
        }

        /** Ends the line if anything was drawn. */
        void finish() {
            if (drawn) {
                err.println();
                err.flush();
                drawn = false;
            }
        }
    }
}
