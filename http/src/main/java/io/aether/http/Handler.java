package io.aether.http;

/**
 * Answers one request. Runs on its own virtual thread; blocking is fine, and so is throwing:
 * an {@link ApiException} is answered with its error, anything else with a 500 that tells the
 * peer only an incident number (the server log has the cause). The thread is interrupted when
 * the route's deadline passes.
 */
@FunctionalInterface
public interface Handler {

    Response handle(Request request) throws Exception;
}
