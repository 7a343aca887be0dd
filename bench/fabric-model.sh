#!/usr/bin/env bash
# Issue 9's model benchmark (docs/BENCHMARKS.md, "Fabric: job submit -> first prediction"): on
# 'aether up', a model job submitted (POST /v1/jobs) -> its node has synced the signed repository,
# started the server and reported its URL -> the first prediction answered with the right value,
# run by run with a fresh repository copy each time (each job is a new allocation: a full sync),
# then the median. The repository holds examples/double.onnx, served by 'aether model serve-repo'.
# Usage: bench/fabric-model.sh [RUNS]     (default 5)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. dev/jdk.sh
aether_find_jdk
runs=${1:-5}
./mvnw -q -B -DskipTests -Dmaven.javadoc.skip=true -pl cli -am package
aether=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar cli/target/aether.jar)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

export AETHER_HOME="$work/home"
"${aether[@]}" model keygen > /dev/null
"${aether[@]}" model init "$work/repo" > /dev/null
cp examples/double.onnx "$work/repo/"
"${aether[@]}" model add . -C "$work/repo" > /dev/null
"${aether[@]}" model commit -m double -C "$work/repo" > /dev/null
repo_port=$(free_port)
"${aether[@]}" model serve-repo "$work/repo" --port "$repo_port" --bind 127.0.0.1 --public-read > "$work/serve-repo.log" 2>&1 &
pids+=($!)
"${aether[@]}" up --data "$work/data" --name bench --raft-port "$(free_port)" --no-discovery > "$work/up.log" 2> "$work/up.err" &
pids+=($!)
sock="$work/data/controller/controller.sock"
for _ in $(seq 600); do grep -q '^Try: ' "$work/up.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^Try: ' "$work/up.log" || { cat "$work/up.err"; exit 1; }

api() { curl -sf --unix-socket "$sock" "$@"; }
times=()
for i in $(seq "$runs"); do
  job="double-$i"
  spec=$(sed -e "s/\"hello-model\"/\"$job\"/" -e "s|https://127.0.0.1:7443|https://127.0.0.1:$repo_port|" examples/hello-model.json)
  start=$(now_ms)
  api -H 'Content-Type: application/json' -d "$spec" http://localhost/v1/jobs > /dev/null
  url=""
  while true; do
    url=$(api "http://localhost/v1/jobs/$job" | jq -r '.allocations[0].url // empty')
    if [ -n "$url" ]; then
      answer=$(curl -sf -H 'Content-Type: application/json' -d '{"inputs": {"X": [[1.5], [-2]]}}' "$url:predict" || true)
      case "$answer" in *'"data":[3.0,-4.0]'*) break ;; esac
    fi
    [ $(( $(now_ms) - start )) -lt 180000 ] || { echo "run $i: no prediction after 180 s" >&2; api "http://localhost/v1/jobs/$job" >&2; exit 1; }
    sleep 0.02
  done
  took=$(( $(now_ms) - start ))
  times+=("$took")
  echo "run $i: submit -> first prediction ${took} ms ($url)"
  api -X DELETE "http://localhost/v1/jobs/$job" > /dev/null
  while [ -d "$work/data/link/models/$job.0" ]; do sleep 0.1; done
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "median of $runs runs: ${sorted[$(( runs / 2 ))]} ms (min ${sorted[0]}, max ${sorted[$(( runs - 1 ))]})"
