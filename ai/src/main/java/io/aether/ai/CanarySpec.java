package io.aether.ai;

/**
 * A canary: the ref of a new version and the share of requests it gets, written
 * {@code REF:PERCENT} on command lines (e.g. {@code v2:10}, {@code main:2.5}).
 */
public record CanarySpec(String ref, double percent) {

    public CanarySpec {
        if (ref == null || ref.isBlank()) {
            throw new IllegalArgumentException("canary needs a ref");
        }
        checkPercent(percent);
    }

    static void checkPercent(double percent) {
        if (!(percent > 0 && percent < 100)) {
            throw new IllegalArgumentException("canary percent must be above 0 and below 100, got " + percent);
        }
    }

    /** Parses {@code REF:PERCENT}; the last colon separates them, so refs may hold colons. */
    public static CanarySpec parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("canary must be REF:PERCENT, e.g. v2:10, got '" + text + "'");
        }
        String number = text.substring(colon + 1).strip();
        if (number.endsWith("%")) {
            number = number.substring(0, number.length() - 1);
        }
        double percent;
        try {
            percent = Double.parseDouble(number);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("canary percent is not a number: '" + text + "'");
        }
        return new CanarySpec(text.substring(0, colon), percent);
    }
}
