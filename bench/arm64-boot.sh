#!/usr/bin/env bash
# Benchmark (f) of docs/BENCHMARKS.md: inside the arm64 test host (L1: QEMU-emulated arm64 with
# EL2 and KVM), Aether on the arm64 Java runtime vs Debian trixie's qemu-system-aarch64
# -accel kvm -M virt,gic-version=3 -cpu host, both booting the guest `aether guest fetch --arch
# arm64` builds to its init's ready marker and powering off. L1 is emulated: compare ratios only.
# QEMU's arm64 packages and their closure are fetched once (private apt state, nothing installed)
# into ~/.cache/aether/arm64-qemu.
# Usage: bench/arm64-boot.sh [RUNS] [boot|start-up|exits|phases] [compare|before=JAR]   (defaults 10 and boot; start-up:
# `aether vm run --stub` against `qemu-system-aarch64 -version`, the fixed cost of each; exits: one
# boot with --trace-exits, its exits counted by reason and device; phases: traced boots (-Daether.trace.boot),
# each step of the monitor's start to its first KVM_RUN, as well; compare: also the monitor without
# its downcalls linked ahead (-Daether.libc.linkAhead=off); before=JAR: also the monitor with JAR ahead of
# its class path, e.g. an aether-sys jar built before a change; about 30 s per boot here)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. dev/jdk.sh
aether_find_jdk
./mvnw -q -B -DskipTests -pl bench -am package
cp="bench/target/aether-bench-0.1.0-SNAPSHOT.jar:$(echo bench/target/lib/*.jar | tr ' ' ':')"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.aether.bench.vm.Arm64BootBench "${1:-10}" "${2:-boot}" ${3:+"$3"}
