package io.aether.agent;

import io.aether.agentapi.StateChange;
import io.aether.http.Event;
import io.aether.http.EventHub;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;

/** Every state change the agent makes, numbered, fanned out to {@code /v1/events} and kept for a while for replay. */
final class Events implements AutoCloseable {

    static final int HISTORY = 256;

    private final EventHub hub = new EventHub(1024);
    private final ArrayDeque<StateChange> history = new ArrayDeque<>();
    private long seq;

    synchronized void publish(String id, String state, String reason) {
        StateChange change = new StateChange(++seq, id, state, reason, Instant.now().toString());
        if (history.size() == HISTORY) history.removeFirst();
        history.addLast(change);
        hub.publish(Event.json("state", change));
    }

    /** The changes after {@code afterSeq} that are still kept. */
    synchronized List<Event> after(long afterSeq) {
        return history.stream().filter(c -> c.seq() > afterSeq).map(c -> Event.json("state", c)).toList();
    }

    EventHub hub() {
        return hub;
    }

    @Override
    public void close() {
        hub.close();
    }
}
