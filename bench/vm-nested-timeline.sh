#!/usr/bin/env bash
# A diagnosis for docs/BENCHMARKS.md (a): inside the nested test host, the same Linux guest booted
# under `aether vm run` and under qemu-system-x86_64 -M microvm with the kernel's timestamps
# (printk.time=1, no quiet), their consoles printed side by side ("aether N|", "qemu N|"), then
# one Aether boot with --trace-exits, its exits counted ("exits|"). A few minutes.
# Usage: bench/vm-nested-timeline.sh [ROUNDS [quiet]]      (default 2; quiet: the measured command
# line, as bench/vm-nested-agent.sh boots it, for the exits' count; "0 quiet" counts them alone)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. dev/jdk.sh
aether_find_jdk
./mvnw -q -B -DskipTests -pl bench -am package
cp="bench/target/aether-bench-0.1.0-SNAPSHOT.jar:$(echo bench/target/lib/*.jar | tr ' ' ':')"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.aether.bench.vm.NestedBootTimeline "${1:-2}" ${2:+"$2"}
