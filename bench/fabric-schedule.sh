#!/usr/bin/env bash
# Scheduler placements per second (issue 9): 10,000 simulated nodes, 100,000 tasks of mixed
# shapes; the plan alone over a state in memory, then the whole path through a one-peer Ratis
# controller (jobs submitted as commands, plans committed) until every placement is committed.
# Usage: bench/fabric-schedule.sh [--nodes N] [--jobs N] [--replicas N] [--warmup N] [--runs N]
# Builds the bench module (and what it needs), then prints a markdown table (docs/BENCHMARKS.md, "Fabric").
# The driver is io.aether.fabric.ScheduleBench in fabric's test classes: it drives the
# package-private Scheduler, FabricState and ReplicatedFabric.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
./mvnw -q -B -pl bench -am package -DskipTests
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
uptime >&2
"$JAVA_HOME/bin/java" -Xmx6g -cp "fabric/target/test-classes:bench/target/lib/*" \
    io.aether.fabric.ScheduleBench --dir "$dir" "$@"
