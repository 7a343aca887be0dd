package io.aether.cgroups;

/** A {@link Quota} that cannot be: one line, {@code field: problem}, the field being {@code cpus} or {@code memory}. */
public final class QuotaException extends IllegalArgumentException {

    private final String field;
    private final String problem;

    public QuotaException(String field, String problem) {
        super(field + ": " + problem);
        this.field = field;
        this.problem = problem;
    }

    /** {@code cpus} or {@code memory}. */
    public String field() {
        return field;
    }

    /** What is wrong with it, without the field's name. */
    public String problem() {
        return problem;
    }
}
