#!/usr/bin/env bash
# Bytes moved to update a model after a 1% weight change (aether push/fetch vs full copy vs rsync,
# same files, same run) and sync throughput on loopback.
# Usage: bench/sync-bench.sh [--tensors N] [--tensor-floats N] [--seed N]   (default: 16 x 1 Mi floats = 64 MiB)
# Builds the bench module (and what it needs), then prints markdown tables (docs/BENCHMARKS.md, "Model sync").
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
command -v rsync >/dev/null || { echo "sync-bench: rsync is needed for the comparison" >&2; exit 1; }
./mvnw -q -B -pl bench -am package -DskipTests
exec "$JAVA_HOME/bin/java" -Xmx2g -Xshare:auto \
    -cp "bench/target/aether-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
    io.aether.bench.sync.SyncBench "$@"
