#!/usr/bin/env bash
# Replicated write latency p50/p99 (issue 9): three Aether controllers on loopback (three Ratis
# peers in one JVM, the code path of `aether controller --peers`) beside a three-member etcd
# cluster on loopback (Debian's etcd-server), same number of sequential writes of the same size,
# one client, rounds alternating between the two.
# Usage: bench/fabric-raft.sh [--writes N per round] [--rounds N] [--bytes N]   (default 1000 x 5 writes of 1024 bytes)
# Builds the bench module (and what it needs), then prints a markdown table (docs/BENCHMARKS.md, "Fabric").
# The driver is io.aether.fabric.RaftBench in fabric's test classes (it drives the package-private ReplicatedFabric).
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
if ! command -v etcd >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server >&2
    else
        echo "fabric-raft: etcd is needed for the comparison: apt-get install etcd-server" >&2
        exit 1
    fi
fi
./mvnw -q -B -pl bench -am package -DskipTests
dir=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cluster=""
declare -A peer client
for m in e1 e2 e3; do
    peer[$m]=$(free_port)
    client[$m]=$(free_port)
    cluster+="${cluster:+,}$m=http://127.0.0.1:${peer[$m]}"
done
for m in e1 e2 e3; do
    etcd --name "$m" --data-dir "$dir/$m" \
        --listen-peer-urls "http://127.0.0.1:${peer[$m]}" --initial-advertise-peer-urls "http://127.0.0.1:${peer[$m]}" \
        --listen-client-urls "http://127.0.0.1:${client[$m]}" --advertise-client-urls "http://127.0.0.1:${client[$m]}" \
        --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token aether-bench \
        >"$dir/$m.log" 2>&1 &
    pids+=($!)
done
url="http://127.0.0.1:${client[e1]}"
for _ in $(seq 100); do
    curl -sf "$url/health" | grep -q '"health":"true"' && break
    sleep 0.2
done
curl -sf "$url/health" | grep -q '"health":"true"' || { echo "fabric-raft: etcd did not become healthy; see its logs" >&2; tail -5 "$dir"/e*.log >&2; exit 1; }
echo "$(etcd --version | head -1); $(uptime)" >&2
"$JAVA_HOME/bin/java" -Xmx1g -cp "fabric/target/test-classes:bench/target/lib/*" \
    io.aether.fabric.RaftBench --dir "$dir/aether" --etcd "$url" "$@"
