package io.aether.it;

import io.aether.testhost.Arm64TestHost;
import io.aether.testkit.Prerequisites;
import java.io.IOException;

/** The arm64 test host for this module's tests. */
final class Arm64Hosts {

    private Arm64Hosts() {
    }

    /** This machine's arm64 test host; one that cannot run is a skip, or a failure under {@code CI=true}. */
    static Arm64TestHost shared() {
        try {
            return Arm64TestHost.shared();
        } catch (IOException unavailable) {
            throw Prerequisites.missing(unavailable.getMessage());
        }
    }
}
