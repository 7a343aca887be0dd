#!/usr/bin/env bash
# Inference latency through the HTTP endpoint vs a direct OrtSession.run in the same process.
# Usage: bench/ai-bench.sh [--requests N] [--warmup N] [--clients N]
# Builds the bench module (and what it needs), then prints markdown tables (docs/BENCHMARKS.md, "Inference").
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
./mvnw -q -B -pl bench -am package -DskipTests
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xshare:auto \
    -cp "bench/target/aether-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
    io.aether.bench.ai.InferenceBench "$@"
