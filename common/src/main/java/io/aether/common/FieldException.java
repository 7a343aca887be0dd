package io.aether.common;

/**
 * Input that cannot be: one line, {@code field: problem}, the field spelled as the input's JSON
 * form spells it ({@code memory}, {@code disks[1].path}, {@code workload.vm.memory}, {@code cpus}),
 * so that an API can answer 400 naming it and a command line can name its own flag instead. VM
 * specs, quotas and job specs all refuse their input this way.
 */
public final class FieldException extends IllegalArgumentException {

    private final String field;
    private final String problem;

    public FieldException(String field, String problem) {
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
