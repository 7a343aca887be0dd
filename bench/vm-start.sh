#!/usr/bin/env bash
# Issue 7's start and memory benchmarks of docs/BENCHMARKS.md ("Warm start, VMs per second and
# memory per VM"), on this host's own KVM with stub guests: request -> first console byte through
# a warm standby monitor, a cold `aether vm monitor`, a cold `aether vm run --stub` and QEMU
# microvm, interleaved; VMs started per second through the pool; then N idle VMs of each kind at
# once (the ECHO stub: it prints, then waits for input) and each process's USS and PSS.
# Usage: bench/vm-start.sh [RUNS] [VMS]     (default 20 and 5; needs /dev/kvm and qemu-system-x86)
# JVM options to try on the monitors: AETHER_MONITOR_OPTS="-Xss256k ..." bench/vm-start.sh
# A previous build's monitor beside this one's: BEFORE_JAR=/copy/of/cli/target/aether.jar (its lib/ beside it)
# The memory part runs with the host's same-page merging (KSM) on, for both sides (monitors offer
# their own memory, QEMU its guest's RAM; needs root): it sets /sys/kernel/mm/ksm/run to 1 and a
# faster scan (KSM_PAGES_TO_SCAN, default 1000 pages every 20 ms), reads each row once the merged
# pages are stable, and restores both settings at the end. KSM=0 measures without (the host's KSM
# must be stopped then).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. dev/jdk.sh
aether_find_jdk
runs=${1:-20}
vms=${2:-5}
./mvnw -q -B -DskipTests -Dmaven.javadoc.skip=true -pl bench -am package
java="$JAVA_HOME/bin/java"
cp="bench/target/aether-bench-0.1.0-SNAPSHOT.jar:$(echo bench/target/lib/*.jar | tr ' ' ':')"
work=$(mktemp -d)
ksm=/sys/kernel/mm/ksm
ksm_restore=()
cleanup() {
  rm -rf "$work"
  # The host's KSM settings as they were (merged pages stay merged until written or unmapped).
  if [ ${#ksm_restore[@]} -gt 0 ]; then echo "${ksm_restore[1]}" > $ksm/pages_to_scan; echo "${ksm_restore[0]}" > $ksm/run; fi
}
trap cleanup EXIT
"$java" -cp "$cp" io.aether.bench.vm.BootBench firmware "$work/hello.bin"
"$java" -cp "$cp" io.aether.bench.vm.VmStartBench firmware "$work/echo.bin"
# The monitors as the ./aether launcher runs them (x86): with the monitor's own class-data archive,
# made as the launcher makes it.
dev/monitor-archive.sh "$root/cli/target/aether.jar" "$work/monitor.jsa"
[ -s "$work/monitor.jsa" ] || { echo "vm-start.sh: the monitor's class-data archive could not be made" >&2; exit 1; }
# shellcheck disable=SC2206
aether=("$java" @dev/monitor.jvmargs ${AETHER_MONITOR_OPTS:-} "-XX:SharedArchiveFile=$work/monitor.jsa" -jar "$root/cli/target/aether.jar")
# The rows before step 6: the dynamic archive that a first run writes, as the launcher used until then.
dynamic=(-XX:+AutoCreateSharedArchive "-XX:SharedArchiveFile=$work/aether.jsa" -jar "$root/cli/target/aether.jar")
"$java" @dev/monitor.jvmargs "${dynamic[@]}" vm run --stub > /dev/null
qemu=(qemu-system-x86_64 -M microvm -enable-kvm -m 16M -nodefaults -no-user-config -nographic -serial stdio
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)
bench=("$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.aether.bench.vm.VmStartBench)
if [ "${SKIP_START:-}" != 1 ]; then
  "${bench[@]}" start --runs "$runs" --dir "$work" \
    --label monitor -- "${aether[@]}" vm monitor \
    --label run -- "${aether[@]}" vm run --stub \
    --label qemu -- "${qemu[@]}" -bios "$work/hello.bin"
fi
[ "${SKIP_MEMORY:-}" = 1 ] && exit 0
if [ "${KSM:-1}" = 1 ]; then
  [ -w $ksm/run ] || { echo "vm-start.sh: $ksm/run is not writable (no KSM, or not root): run with KSM=0" >&2; exit 1; }
  ksm_restore=("$(cat $ksm/run)" "$(cat $ksm/pages_to_scan)")
  echo "${KSM_PAGES_TO_SCAN:-1000}" > $ksm/pages_to_scan
  echo 1 > $ksm/run
  echo "vm-start.sh: KSM on (run 1, pages_to_scan $(cat $ksm/pages_to_scan), sleep_millisecs $(cat $ksm/sleep_millisecs)); before: run ${ksm_restore[0]}, pages_to_scan ${ksm_restore[1]}" >&2
elif [ -e $ksm/run ] && [ "$(cat $ksm/run)" != 0 ]; then
  echo "vm-start.sh: KSM=0, but the host's KSM runs ($ksm/run = $(cat $ksm/run)): stop it first" >&2
  exit 1
fi
# Memory, step by step: each row undoes the later steps of dev/monitor.jvmargs (the JVM takes the
# last occurrence of an option; an option that cannot be undone so is left out of the argument
# file of the rows before it; rows 0 to 5 run with the dynamic archive of a first run, as the
# launcher did before step 6), so the table shows what each step saved. Rows 0 to 8 and the pool's
# "before" run with --no-page-merging (as before step 9); the BEFORE_JAR row's build has no such option.
grep -v -e '^-Xms8m$' -e '^--finalization=disabled$' dev/monitor.jvmargs > "$work/before-7.jvmargs"
grep -v -e '-Djava.nio.channels.spi.SelectorProvider=' "$work/before-7.jvmargs" > "$work/before-4.jvmargs"
# shellcheck disable=SC2206
step() { echo "$java" "@$work/before-4.jvmargs" ${AETHER_MONITOR_OPTS:-} "$@" "${dynamic[@]}"; }
before=()
if [ -n "${BEFORE_JAR:-}" ]; then
  # shellcheck disable=SC2206
  old=("$java" @dev/monitor.jvmargs ${AETHER_MONITOR_OPTS:-} -XX:+AutoCreateSharedArchive "-XX:SharedArchiveFile=$work/before.jsa"
       -jar "$BEFORE_JAR")
  "${old[@]}" vm run --stub > /dev/null
  before=(--label "4. the build before the last step ($BEFORE_JAR)" -- "${old[@]}" vm monitor)
fi
# The floor: a program that opens nothing and sleeps (IdleJvm, alone in its jar), with the
# monitor's options (and a class-data archive of its own, written by a first run), and with the
# JDK's options for the least footprint besides: interpreter only, 1 MiB heap and young
# generation, 256 KiB thread stacks, the smallest code cache.
"$JAVA_HOME/bin/jar" cf "$work/idle.jar" -C bench/target/classes io/aether/bench/vm/IdleJvm.class
idle=("$java" @dev/monitor.jvmargs -XX:+AutoCreateSharedArchive "-XX:SharedArchiveFile=$work/idle.jsa")
"${idle[@]}" -cp "$work/idle.jar" io.aether.bench.vm.IdleJvm exit > /dev/null
# shellcheck disable=SC2046
"${bench[@]}" memory --vms "$vms" --dir "$work" \
  --label "0. before: young gen 8 MiB, CDS relocated, no malloc trim" -- \
      $(step -Xmn8m -XX:ArchiveRelocationMode=1 -XX:TrimNativeHeapInterval=0) vm monitor --no-page-merging \
  --label "1. + CDS archives mapped at their base address" -- $(step -Xmn8m -XX:TrimNativeHeapInterval=0) vm monitor --no-page-merging \
  --label "2. + young gen 2 MiB" -- $(step -XX:TrimNativeHeapInterval=0) vm monitor --no-page-merging \
  --label "3. + malloc trimmed every 2 s" -- $(step) vm monitor --no-page-merging \
  "${before[@]}" \
  --label "5. + SelectorProvider named (this build, the dynamic archive)" -- \
      "$java" "@$work/before-7.jvmargs" ${AETHER_MONITOR_OPTS:-} "${dynamic[@]}" vm monitor --no-page-merging \
  --label "6. + the monitor's own static class-data archive" -- \
      "$java" "@$work/before-7.jvmargs" ${AETHER_MONITOR_OPTS:-} "-XX:SharedArchiveFile=$work/monitor.jsa" -jar "$root/cli/target/aether.jar" vm monitor --no-page-merging \
  --label "7. + -Xms8m" -- "$java" "@$work/before-7.jvmargs" -Xms8m ${AETHER_MONITOR_OPTS:-} "-XX:SharedArchiveFile=$work/monitor.jsa" \
      -jar "$root/cli/target/aether.jar" vm monitor --no-page-merging \
  --label "8. + no finalizer thread (dev/monitor.jvmargs, as ./aether runs it, with --no-page-merging)" -- \
      "${aether[@]}" vm monitor --no-page-merging \
  --label "9. + the monitor's own memory offered to KSM (now)" -- "${aether[@]}" vm monitor \
  --label "pool:from the warm pool (now)" -- "${aether[@]}" vm monitor \
  --label "pool:from the warm pool, before step 6" -- "$java" "@$work/before-7.jvmargs" ${AETHER_MONITOR_OPTS:-} "${dynamic[@]}" vm monitor \
      --no-page-merging \
  --label "floor:IdleJvm with the monitor's options" -- "${idle[@]}" -cp "$work/idle.jar" io.aether.bench.vm.IdleJvm \
  --label "floor:IdleJvm, the JDK's least footprint" -- "${idle[@]}" -Xint -Xms1m -Xmn1m -Xss256k -XX:ReservedCodeCacheSize=2496k \
      -cp "$work/idle.jar" io.aether.bench.vm.IdleJvm \
  --label qemu-microvm -- "${qemu[@]}" -bios "$work/echo.bin"
