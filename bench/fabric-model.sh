#!/usr/bin/env bash
# Issue 9's model benchmark (docs/BENCHMARKS.md, "Fabric: job submit -> first prediction"): on
# 'aether up', a model job submitted (POST /v1/jobs) -> its node has synced the signed repository,
# started the server and reported its URL -> the first prediction answered with the right value,
# run by run with a fresh repository copy each time (each job is a new allocation: a full sync),
# then the median. The repository holds examples/double.onnx, served by 'aether model serve-repo'.
# The peer, in the same run: the same commit served by hand, 'aether model run REPO@main' started
# on the local repository -> the first prediction (no fabric, no sync).
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
# Whether the model at URL answers [[1.5], [-2]] with [3.0, -4.0] (Y = 2X).
predicts() {
  [ -n "$1" ] || return 1
  case "$(curl -sf -H 'Content-Type: application/json' -d '{"inputs": {"X": [[1.5], [-2]]}}' "$1:predict" || true)" in
    *'"data":[3.0,-4.0]'*) return 0 ;;
    *) return 1 ;;
  esac
}
# Runs COMMAND... every 20 ms until the URL it prints predicts; gives up 180 s after START.
until_predicting() {
  local start=$1
  shift
  until predicts "$("$@")"; do
    [ $(( $(now_ms) - start )) -lt 180000 ] || { echo "no prediction after 180 s: $*" >&2; return 1; }
    sleep 0.02
  done
}
job_url() { api "http://localhost/v1/jobs/$1" | jq -r '.allocations[0].url // empty'; }
run_url() { sed -n "s|^serving model 'double' from .* on \(http://[^ ]*\)$|\1/v1/models/double|p" "$1"; }
median() {
  local sorted=($(printf '%s\n' "$@" | sort -n))
  echo "${sorted[$(( $# / 2 ))]} ms (min ${sorted[0]}, max ${sorted[$(( $# - 1 ))]})"
}

times=()
for i in $(seq "$runs"); do
  job="double-$i"
  spec=$(sed -e "s/\"hello-model\"/\"$job\"/" -e "s|https://127.0.0.1:7443|https://127.0.0.1:$repo_port|" examples/hello-model.json)
  start=$(now_ms)
  api -H 'Content-Type: application/json' -d "$spec" http://localhost/v1/jobs > /dev/null
  until_predicting "$start" job_url "$job" || { api "http://localhost/v1/jobs/$job" >&2; exit 1; }
  took=$(( $(now_ms) - start ))
  times+=("$took")
  echo "run $i: submit -> first prediction ${took} ms ($(job_url "$job"))"
  api -X DELETE "http://localhost/v1/jobs/$job" > /dev/null
  while [ -d "$work/data/link/models/$job.0" ]; do sleep 0.1; done
done
echo "fabric, median of $runs runs: $(median "${times[@]}")"

by_hand=()
for i in $(seq "$runs"); do
  start=$(now_ms)
  "${aether[@]}" model run "$work/repo@main" --port 0 > "$work/run-$i.log" 2>&1 &
  run=$!
  until_predicting "$start" run_url "$work/run-$i.log" || { cat "$work/run-$i.log" >&2; exit 1; }
  took=$(( $(now_ms) - start ))
  by_hand+=("$took")
  echo "by hand, run $i: model run -> first prediction ${took} ms"
  kill "$run"; wait "$run" || true
done
echo "by hand, median of $runs runs: $(median "${by_hand[@]}")"
