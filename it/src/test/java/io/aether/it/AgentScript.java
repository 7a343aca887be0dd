package io.aether.it;

/** Shell shared by the scenarios that drive {@code aether node} inside the nested test host. */
final class AgentScript {

    /**
     * Defines {@code $N} (the client option naming the agent's socket) and {@code start_agent},
     * which starts {@code aether node} on {@code ./node} with cold monitors (standbys warming up
     * under emulation would only slow the scenario), sets {@code $agent} to its pid and returns
     * once its API answers.
     */
    static final String START_AGENT = """
            N="--node node/node.sock"
            start_agent() {
                aether node --data node --warm-pool 0 >> node.log 2>&1 &
                agent=$!
                waited=0
                until aether vm ls $N > /dev/null 2>&1; do
                    sleep 1; waited=$((waited + 1))
                    [ $waited -lt 300 ] || { sed 's/^/node.log: /' node.log; exit 11; }
                done
                echo "agent: serving after ${waited} s"
            }
            """;

    private AgentScript() {
    }
}
