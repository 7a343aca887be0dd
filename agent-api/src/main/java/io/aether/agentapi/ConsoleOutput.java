package io.aether.agentapi;

/**
 * One event of {@code GET /v1/vms/{id}/console} (type {@code output}).
 *
 * @param data the guest's console bytes, base64: the console is raw bytes, and a chunk may end
 *     inside a UTF-8 character
 */
public record ConsoleOutput(String data) {
}
