package io.aether.fabricapi;

/**
 * A job spec that cannot be: one line, {@code field: problem}, the field spelled as the spec's JSON
 * spells it ({@code replicas}, {@code workload.vm.memory}, {@code antiAffinity[1]}), so that the
 * API can answer 400 naming it.
 */
public final class JobSpecException extends IllegalArgumentException {

    private final String field;
    private final String problem;

    public JobSpecException(String field, String problem) {
        super(field + ": " + problem);
        this.field = field;
        this.problem = problem;
    }

    /** The field's path in the JSON form. */
    public String field() {
        return field;
    }

    /** What is wrong with it, without the field's name. */
    public String problem() {
        return problem;
    }
}
