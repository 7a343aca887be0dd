#!/usr/bin/env bash
# Benchmark (c) of docs/BENCHMARKS.md: snapshot and restore of a COUNT stub guest on this host's own
# KVM: the snapshot's write speed beside cp of the same memory file, restore to the first output in
# this process, and in a new monitor process (aether vm monitor --restore).
# Usage: bench/vm-snapshot.sh [RUNS] [MEMORY_MIB]     (defaults 20 and 256; needs /dev/kvm)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. dev/jdk.sh
aether_find_jdk
runs=${1:-20}
memory=${2:-256}
./mvnw -q -B -DskipTests -pl bench -am package
java="$JAVA_HOME/bin/java"
cp="bench/target/aether-bench-0.1.0-SNAPSHOT.jar:$(echo bench/target/lib/*.jar | tr ' ' ':')"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.aether.bench.vm.SnapshotBench \
  --runs "$runs" --write-runs 5 --memory-mib "$memory" --work "$work" \
  -- "$java" @dev/monitor.jvmargs -jar cli/target/aether.jar
