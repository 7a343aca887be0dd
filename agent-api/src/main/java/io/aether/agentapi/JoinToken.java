package io.aether.agentapi;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A join token as people copy it: {@code aether-join-SECRET}, or, from a controller with a TLS
 * listener, {@code aether-join-SECRET.FINGERPRINT} where FINGERPRINT is the SHA-256 of that
 * listener's certificate. The fingerprint lets a node authenticate the controller before it sends
 * anything, so the token is all a node needs to join over the network; the whole text is the
 * secret the controller checks, so a changed fingerprint is an unknown token.
 *
 * @param text the token, exactly as issued
 * @param controllerFingerprint the SHA-256 of the issuing controller's TLS certificate, lower-case hex
 */
public record JoinToken(String text, Optional<String> controllerFingerprint) {

    public static final String PREFIX = "aether-join-";
    private static final Pattern FORM = Pattern.compile(Pattern.quote(PREFIX) + "[A-Za-z0-9_-]{16,100}(?:\\.([0-9a-f]{64}))?");

    /** Reads a token; an {@code IllegalArgumentException} saying what is wrong with it otherwise. */
    public static JoinToken parse(String text) {
        Matcher m = FORM.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("not an Aether join token (" + PREFIX + "SECRET, optionally .SHA256 of the controller's certificate)");
        }
        return new JoinToken(m.group(), Optional.ofNullable(m.group(1)));
    }

    @Override
    public String toString() {
        return "join token" + controllerFingerprint.map(f -> " of controller sha256:" + f).orElse("");
    }
}
