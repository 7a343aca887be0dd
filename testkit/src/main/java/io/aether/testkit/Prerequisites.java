package io.aether.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The CI policy for tests that need something this machine may lack (QEMU, network for the
 * guest kernel, a JDK with jlink): in CI ({@code CI=true} in the environment) a missing
 * prerequisite fails the test with the reason; elsewhere the test is skipped, and the reason
 * is printed on stderr as well as given to JUnit. Never a silent skip.
 */
public final class Prerequisites {

    private Prerequisites() {
    }

    /** True when the environment says this is a CI run ({@code CI=true}, as GitHub Actions and GitLab set it). */
    public static boolean inCi() {
        return inCi(System.getenv());
    }

    static boolean inCi(Map<String, String> env) {
        return "true".equalsIgnoreCase(env.getOrDefault("CI", "").strip());
    }

    /**
     * Continues when {@code met}; otherwise fails the test in CI and skips it elsewhere,
     * naming {@code reason} either way.
     */
    public static void require(boolean met, String reason) {
        if (!met) {
            missing(reason);
        }
    }

    /**
     * What a test that needs {@code /dev/kvm} says when it hands itself to the nested test host: the
     * words {@code run-tests} looks for in the skipped tests' reports, to run exactly those there.
     */
    public static final String KVM_IN_NESTED_HOST = "needs /dev/kvm, which this machine lacks: run-tests runs it inside the nested test host";

    /**
     * Continues when {@code /dev/kvm} is usable by this user. Otherwise, where {@code run-tests}
     * will run the test inside the nested test host ({@code AETHER_KVM_TESTS=nested}: a machine
     * whose {@code /dev/kvm} is missing, such as a PVM guest), skips it with
     * {@link #KVM_IN_NESTED_HOST}; anywhere else the policy of {@link #missing} applies.
     */
    public static void requireKvm() {
        requireKvm(Path.of("/dev/kvm"), System.getenv());
    }

    static void requireKvm(Path device, Map<String, String> env) {
        if (Files.isReadable(device) && Files.isWritable(device)) {
            return;
        }
        if ("nested".equals(env.get("AETHER_KVM_TESTS"))) {
            Assumptions.abort(KVM_IN_NESTED_HOST);
        }
        missing(device + " is not usable by this user");
    }

    /** Fails the test in CI, skips it elsewhere; never returns. */
    public static RuntimeException missing(String reason) {
        if (inCi()) {
            Assertions.fail("prerequisite missing in CI (CI=true): " + reason);
        }
        System.err.println("*** SKIPPED (prerequisite missing; with CI=true this fails): " + reason);
        Assumptions.abort("prerequisite missing: " + reason);
        throw new AssertionError("unreachable: Assumptions.abort returned");
    }
}
