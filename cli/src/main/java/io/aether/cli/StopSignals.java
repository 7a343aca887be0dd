package io.aether.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGINT and SIGTERM, taken over from the JVM once the server is up. The JVM's own handling
 * would run the shutdown hooks and exit 130 or 143; a stop on request is a server's normal
 * end, so the command stops cleanly and exits 0 (what service managers count as success).
 * The JVM's handlers are back once a signal came: a second one ends the process at once,
 * should closing hang.
 */
public final class StopSignals {
    private final BlockingQueue<String> received = new ArrayBlockingQueue<>(2);
    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();

    public static StopSignals install() {
        StopSignals s = new StopSignals();
        for (String name : List.of("INT", "TERM")) {
            Signal signal = new Signal(name);
            s.previous.put(signal, Signal.handle(signal, received -> s.received.offer(received.getName())));
        }
        return s;
    }

    /** Waits for a signal, puts the JVM's handlers back and returns the signal's name. */
    public String await() throws InterruptedException {
        try {
            return received.take();
        } finally {
            previous.forEach(Signal::handle);
        }
    }
}
