#!/usr/bin/env bash
# Runs a module's unit tests inside the nested test host, where L1's kvm-amd gives a /dev/kvm: for
# a machine whose own /dev/kvm is missing (kvm_pvm loaded but not bound, as inside a PVM guest),
# where the KVM tests of vmm, monitor, agent and cli cannot run. Emulated: slower than at home,
# and timings mean nothing there.
# Usage: dev/nested-unit-tests.sh MODULE[,MODULE...] [CLASS|CLASS#method ...]
#   (default: every *Test class of the modules; e.g. dev/nested-unit-tests.sh vmm,monitor io.aether.vmm.VmBuilderTest)
#        dev/nested-unit-tests.sh --handed-over
#   after a build run with AETHER_KVM_TESTS=nested (run-tests sets it where /dev/kvm is missing):
#   runs the classes of every test that skipped saying "run-tests runs it inside the nested test
#   host", and fails unless each of those tests passed there and no test there failed or skipped.
# Each class (or CLASS#method) runs in a JVM of its own; a test still running after 10 minutes ends
# its JVM and the next class starts. A class that failed with a JVM dead of a fault in JIT-compiled
# code (QEMU's TCG now and then runs a stale translation of fresh JIT code) runs its tests that did
# not pass once more.
# Prints one "L1TEST STATUS test" line per test, an "L1SUMMARY" line per class and an "L1CLASS
# class took N s" line; exits 1 if a test failed.
# What L1 lacks fails there and nowhere else: the repository's files (a test reading ../dev/...),
# modules outside the test host's Java runtime (java.compiler), dtc, and Linux 6.4's ksm_stat
# fields (L1 runs Debian's 6.1).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. dev/jdk.sh
aether_find_jdk
[ $# -ge 1 ] || { sed -n '2,17p' "$0"; exit 2; }
out=target/nested-unit-tests
rm -rf "$out" && mkdir -p "$out/classes"
expect=()
if [ "$1" = --handed-over ]; then
  # The tests that skipped with testkit's Prerequisites.KVM_IN_NESTED_HOST in the reports of the
  # build that just ran: CLASS#method, and the modules and classes that hold them.
  marker="run-tests runs it inside the nested test host"
  grep -l -F "$marker" */target/surefire-reports/TEST-*.xml 2>/dev/null > "$out/reports" || true
  if [ ! -s "$out/reports" ]; then echo "nested-unit-tests: no test was handed over to the nested test host"; exit 0; fi
  modules=$(sed 's|/.*||' "$out/reports" | sort -u | paste -sd,)
  while IFS= read -r report; do
    grep -B1 -F "$marker" "$report" | grep -o '<testcase name="[^"]*" classname="[^"]*"' \
      | sed -E 's/<testcase name="([^"(\[]*)[^"]*" classname="([^"]*)"/\2#\1/'
  done < "$out/reports" | sort -u > "$out/handed-over"
  echo "nested-unit-tests: $(wc -l < "$out/handed-over") tests of $modules handed over to the nested test host"
  set -- $(sed 's/#.*//' "$out/handed-over" | sort -u)
  expect=(--expect "$out/handed-over")
else
  modules=$1; shift
fi
./mvnw -q -B -DskipTests install
./mvnw -q -B test-compile -pl "$modules"
cp=$out/classes
for m in ${modules//,/ }; do
  ./mvnw -q -B dependency:build-classpath -pl "$m" -Dmdep.includeScope=test -Dmdep.outputFile="$root/$out/$m.cp"
  cp="$cp:$root/$m/target/test-classes:$root/$m/target/classes"
done
for m in ${modules//,/ }; do cp="$cp:$(cat "$out/$m.cp")"; done
# The modules' own jars are their class directories above; each entry once.
printf '%s' "$cp" | tr ':' '\n' | awk '!seen[$0]++' | grep -v -E "/aether-(${modules//,/|})-[0-9][^/]*\.jar$" | paste -sd: > "$out/classpath"
"$JAVA_HOME/bin/javac" -d "$out/classes" -cp "$(cat "$out/classpath")" dev/nested-tests/NestedJunit.java
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  for m in ${modules//,/ }; do
    while IFS= read -r t; do tests+=("$t"); done < <(cd "$m/target/test-classes" && find . -name '*Test.class' | sed 's|^\./||; s|\.class$||; s|/|.|g' | sort)
  done
fi
./mvnw -q -B -DskipTests -pl bench -am package
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -cp "bench/target/aether-bench-0.1.0-SNAPSHOT.jar:$(echo bench/target/lib/*.jar | tr ' ' ':')" \
  dev/nested-tests/NestedTests.java "$out/classpath" "${expect[@]}" "${tests[@]}"
