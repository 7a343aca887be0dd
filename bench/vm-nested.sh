#!/usr/bin/env bash
# Benchmark (a) of docs/BENCHMARKS.md: Aether vs qemu-system-x86_64 -M microvm booting the same
# Debian cloud kernel and busybox initramfs to the init's ready marker, then powering off; inside
# the nested test host on machines without hardware KVM (timings there are emulated: compare the
# ratio only), directly on hardware KVM otherwise.
# Usage: bench/vm-nested.sh [RUNS] [VCPUS]      (defaults 10 and 1; about 1-2 minutes per run)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. dev/jdk.sh
aether_find_jdk
./mvnw -q -B -DskipTests -pl bench -am install
cp="bench/target/aether-bench-0.1.0-SNAPSHOT.jar:$(echo bench/target/lib/*.jar | tr ' ' ':')"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.aether.bench.vm.NestedBootBench "${1:-10}" "${2:-1}"
