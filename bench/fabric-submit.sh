#!/usr/bin/env bash
# Issue 9's submit benchmark (docs/BENCHMARKS.md, "Fabric"): a stub VM job submitted through the
# controller's API -> its allocation reported running -> the guest's first console byte, on
# fabrics wired in one JVM as `aether up` wires its own (one-peer controller, node agent, the node
# joined and pulling its desired state), one per pull interval; beside the same stub created
# straight on the node agent's API and QEMU microvm started cold, round by round.
# Usage: bench/fabric-submit.sh [RUNS] [PULL_MS,...]   (default 10 and 1000,100: 1000 is `aether up`'s;
# needs /dev/kvm and qemu-system-x86)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. dev/jdk.sh
aether_find_jdk
runs=${1:-10}
every=${2:-1000,100}
./mvnw -q -B -DskipTests -Dmaven.javadoc.skip=true -pl bench -am package
java="$JAVA_HOME/bin/java"
cp="bench/target/aether-bench-0.1.0-SNAPSHOT.jar:$(echo bench/target/lib/*.jar | tr ' ' ':')"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$java" -cp "$cp" io.aether.bench.vm.BootBench firmware "$work/hello.bin"
# The monitors as the ./aether launcher runs them; a first run writes the class-data archive.
aether=("$java" @dev/monitor.jvmargs -XX:+AutoCreateSharedArchive "-XX:SharedArchiveFile=$work/aether.jsa" -jar cli/target/aether.jar)
"${aether[@]}" vm run --stub > /dev/null
uptime >&2
"$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.aether.bench.vm.FabricSubmitBench --runs "$runs" --every "$every" --dir "$work" \
  --monitor "${aether[@]}" vm monitor \
  --qemu qemu-system-x86_64 -M microvm -enable-kvm -m 16M -nodefaults -no-user-config -nographic -serial stdio \
         -device isa-debug-exit,iobase=0xf4,iosize=0x04 -bios "$work/hello.bin"
uptime >&2
