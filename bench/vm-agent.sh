#!/usr/bin/env bash
# Issue 7's start benchmark through the node agent's API (docs/BENCHMARKS.md (d), "Through the
# agent's API"): POST /v1/vms (start) -> the guest's first console byte, and POST /v1/vms (restore
# of a 256 MiB counting stub) -> running and -> first output, with a warm pool and with none,
# beside QEMU microvm started cold, run by run; then VMs started per second through each.
# Usage: bench/vm-agent.sh [RUNS] [POOL]     (default 20 and 2; needs /dev/kvm and qemu-system-x86)
# With TRACE_START=1 the agents also print where each start's time goes ("trace-start STEP MS at
# NANOS" on standard error, once the create has ended; see docs/BENCHMARKS.md (d)), and so do the
# monitors ("trace-launch STEP MS ... at NANOS": the standby's steps from the launch's connection to
# the VM running, and "trace-boot STEP MS SINCE": the VM's build or restore split into its steps,
# copied from each VM's monitor.log); NANOS is the monotonic clock all processes
# share, on which the bench prints its request, answer and first byte ("trace-bench STEP at NANOS").
# With CGROUP_PARENT=NAME the agents make their groups under cgroup NAME instead of the default, so
# that two benches at once (two builds, two people) do not collide on the groups' names.
# With WARM_ONLY=1 only the warm pool's rounds run (no cold monitor, no QEMU, no bursts): quicker
# while iterating.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. dev/jdk.sh
aether_find_jdk
runs=${1:-20}
pool=${2:-2}
./mvnw -q -B -DskipTests -Dmaven.javadoc.skip=true -pl bench -am package
java="$JAVA_HOME/bin/java"
trace=()
[ "${TRACE_START:-}" = 1 ] && trace=(-Daether.trace.start=true -Daether.trace.boot=true)
only=()
[ "${WARM_ONLY:-}" = 1 ] && only=(--warm-only)
parent=()
[ -n "${CGROUP_PARENT:-}" ] && parent=("-Daether.bench.cgroupParent=$CGROUP_PARENT")
cp="bench/target/aether-bench-0.1.0-SNAPSHOT.jar:$(echo bench/target/lib/*.jar | tr ' ' ':')"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$java" -cp "$cp" io.aether.bench.vm.BootBench firmware "$work/hello.bin"
# The monitors as the ./aether launcher runs them; a first run writes the class-data archive.
aether=("$java" @dev/monitor.jvmargs "${trace[@]}" -XX:+AutoCreateSharedArchive "-XX:SharedArchiveFile=$work/aether.jsa" -jar cli/target/aether.jar)
"${aether[@]}" vm run --stub > /dev/null
"$java" "${trace[@]}" "${parent[@]}" --enable-native-access=ALL-UNNAMED -cp "$cp" io.aether.bench.vm.AgentStartBench --runs "$runs" --pool "$pool" "${only[@]}" --dir "$work" \
  --monitor "${aether[@]}" vm monitor \
  --qemu qemu-system-x86_64 -M microvm -enable-kvm -m 16M -nodefaults -no-user-config -nographic -serial stdio \
         -device isa-debug-exit,iobase=0xf4,iosize=0x04 -bios "$work/hello.bin"
