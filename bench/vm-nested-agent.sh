#!/usr/bin/env bash
# Issue 7's Linux start through the node agent (docs/BENCHMARKS.md (a), "Through the agent's
# API"): inside the nested test host, POST /v1/vms to `aether node` with a warm pool -> the init's
# ready marker, beside qemu-system-x86_64 -M microvm spawned cold -> the same marker, alternating.
# Timings there are emulated: compare the ratio only.
# Usage: bench/vm-nested-agent.sh [RUNS] [POOL]      (defaults 10 and 1; a few minutes per run)
# With TRACE_START=1 the agent and its standbys print where each create's time goes ("trace: STEP MS" lines,
# "trace: launch STEP MS" for the standby's side of the launch, "trace: build STEP MS" for its VM's build).
# With QEMU_MACHINE_PARAMETERS=1 QEMU's guest also gets the parameters Aether's x86 machine adds to the
# command line (pci=off 8250.nr_uarts=1), so that both guests skip the same probes.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. dev/jdk.sh
aether_find_jdk
./mvnw -q -B -DskipTests -pl bench -am package
cp="bench/target/aether-bench-0.1.0-SNAPSHOT.jar:$(echo bench/target/lib/*.jar | tr ' ' ':')"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.aether.bench.vm.NestedAgentBench "${1:-10}" "${2:-1}"
