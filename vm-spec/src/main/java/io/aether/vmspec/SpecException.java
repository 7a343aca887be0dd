package io.aether.vmspec;

/**
 * A {@link VmSpec} that cannot be: one line, {@code field: problem}, where the field is spelled
 * as in the spec's JSON form ({@code memory}, {@code disks[1].path}). Each front end names the
 * field its own way: the command line by its flag, the node agent's API as it is.
 */
public final class SpecException extends IllegalArgumentException {

    private final String field;
    private final String problem;

    public SpecException(String field, String problem) {
        super(field + ": " + problem);
        this.field = field;
        this.problem = problem;
    }

    /** The field's path in the JSON form: {@code vcpus}, {@code boot.kernel}, {@code nics[0].mac}. */
    public String field() {
        return field;
    }

    /** What is wrong with it, without the field's name. */
    public String problem() {
        return problem;
    }
}
