package io.aether.devices;

import io.aether.common.InterruptLine;
import java.util.ArrayList;
import java.util.List;

/** An {@link InterruptLine} that remembers every level it was driven to. */
public final class LineRecorder implements InterruptLine {

    private final List<Boolean> levels = new ArrayList<>();

    @Override
    public synchronized void set(boolean asserted) {
        levels.add(asserted);
    }

    public synchronized boolean high() {
        return !levels.isEmpty() && levels.getLast();
    }

    public synchronized List<Boolean> levels() {
        return List.copyOf(levels);
    }

    public synchronized void clear() {
        levels.clear();
    }

    /** Rising edges seen. */
    public synchronized int raises() {
        int n = 0;
        boolean last = false;
        for (boolean b : levels) {
            if (b && !last) n++;
            last = b;
        }
        return n;
    }
}
