#!/usr/bin/env bash
# Writes OUT, a static class-data archive of exactly the classes a monitor loads (the JDK's and
# Aether's), for the class path JAR, with the JDK in $JAVA_HOME: the classes are those a standby
# monitor loads while it warms up (it runs throwaway stub VMs, serves its socket, snapshots and
# restores), which covers a cold monitor's and a launched standby's. Used by ./aether (once per
# build and JDK) and bench/vm-start.sh. Needs KVM: where the training fails OUT is left empty,
# and a monitor then runs without it. Usage: dev/monitor-archive.sh JAR OUT
set -uo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
jar=$1
out=$2
training=$(mktemp -d)
trap 'rm -rf "$training"' EXIT
"$JAVA_HOME/bin/java" "@$root/dev/monitor.jvmargs" -Xshare:off "-XX:DumpLoadedClassList=$training/classes" -jar "$jar" \
  vm monitor --standby --socket "$training/socket" >"$training/out" 2>/dev/null &
standby=$!
for _ in $(seq 1200); do # a standby says so once it has warmed up: 2 s on an idle machine, 2 min at most
  grep -q '^standby ' "$training/out" && break
  kill -0 $standby 2>/dev/null || break
  sleep 0.1
done
kill $standby 2>/dev/null
wait $standby
: >"$out"
grep -q '^standby ' "$training/out" || exit 0
# The same class path as the monitors' (-jar JAR or -cp JAR): an archive made for another is ignored.
"$JAVA_HOME/bin/java" -Xshare:dump "-XX:SharedClassListFile=$training/classes" "-XX:SharedArchiveFile=$training/jsa" \
  -Xlog:disable -cp "$jar" >/dev/null 2>&1 && mv "$training/jsa" "$out"
