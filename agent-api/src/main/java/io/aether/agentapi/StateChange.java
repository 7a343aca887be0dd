package io.aether.agentapi;

/**
 * One event of {@code GET /v1/events} (type {@code state}).
 *
 * @param seq increases by one with each change the agent makes: a client that sees a gap missed events
 * @param state the VM's new state; {@code deleted} when it is gone
 * @param reason why (absent when there is nothing to say)
 * @param time when, ISO-8601 UTC
 */
public record StateChange(long seq, String id, String state, String reason, String time) {
}
