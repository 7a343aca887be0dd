#!/usr/bin/env bash
# Runs one coverage-guided fuzz target for longer than the tests do (see docs/FUZZING.md).
#   dev/fuzz.sh                          lists the targets
#   dev/fuzz.sh TARGET [SECONDS]         fuzzes TARGET (Class.method, or Class for all its targets), default 300 s
#   dev/fuzz.sh --merge TARGET [SECONDS] then adds the inputs that reached new coverage to the kept corpus
# New corpus entries and failing inputs go to MODULE/target/fuzz/; a failure prints the input and exits 1.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. dev/jdk.sh
aether_find_jdk

targets() {
  grep -rlE 'Fuzzer\.(target|fuzz)\(getClass\(\)' --include='*CoverageFuzzTest.java' */src/test/java | sort | while read -r file; do
    class=$(basename "$file" .java)
    grep -oE 'Fuzzer\.(target|fuzz)\(getClass\(\), "[A-Za-z0-9]+"' "$file" | sed -E 's/.*"(.*)"/\1/' |
      while read -r method; do echo "${file%%/*} $class.$method"; done
  done
}

merge=false
if [ "${1:-}" = --merge ]; then merge=true; shift; fi
if [ $# -eq 0 ]; then
  echo "usage: dev/fuzz.sh [--merge] TARGET [SECONDS]; the targets (module, target):"
  targets | sed 's/^/  /'
  exit 0
fi
target=$1
seconds=${2:-300}
class=${target%%.*}
method=${target#*.}
[ "$method" = "$target" ] && method=
module=$(targets | awk -v c="$class" '{ split($2, a, "."); if (a[1] == c) { print $1; exit } }')
if [ -z "$module" ]; then
  echo "dev/fuzz.sh: no fuzz target $target; run dev/fuzz.sh for the list" >&2
  exit 2
fi

test="$class${method:+#$method}"
echo "dev/fuzz.sh: fuzzing $test in $module for $seconds s per target" >&2
status=0
# The tests' own timeouts would stop a long run: the engine bounds the run and each execution itself.
./mvnw -B -ntp -q -pl "$module" -am test -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false \
  -Daether.fuzz.seconds="$seconds" -Daether.fuzz.merge="$merge" -Djunit.jupiter.execution.timeout.mode=disabled \
  -Dsurefire.timeout=0 >"$module/target/fuzz-run.log" 2>&1 || status=$?
report="$module/target/surefire-reports/$(grep -l "class $class" -r "$module/src/test/java" | head -1 |
  sed -E "s|$module/src/test/java/||; s|\.java$||; s|/|.|g")"
grep -h '^fuzz ' "$report-output.txt" 2>/dev/null || true
if [ "$status" -ne 0 ]; then
  if grep -q 'fuzz target' "$report.txt" 2>/dev/null; then
    sed -n '/fuzz target/,/To keep it/p' "$report.txt" | head -40
  else
    tail -30 "$module/target/fuzz-run.log"
  fi
  exit 1
fi
