#!/usr/bin/env bash
# Reproduces the mock's load figures in docs/mock.md: the release binary serving a rule reply
# with no latency, driven by oha over keep-alive connections (8 and 64), with and without a
# session id. Needs `oha` (cargo install oha). Usage: benches/mock_load.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10s}"

cargo build --release --quiet
out="$(mktemp)"
./target/release/agenttest mock --addr 127.0.0.1:0 --script tests/fixtures/mock/bench.yaml >"$out" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q '^listening on ' "$out" && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$out")/v1/agents/ag_bench/chat"

run() { # connections body
    echo "== $1 connections, body $2"
    oha --no-tui -z "$duration" -c "$1" -m POST \
        -H 'Authorization: Bearer ak_test_123' -T application/json -d "$2" "$url" |
        grep -E 'Success rate|Requests/sec|50.00% in|99.00% in|^ *\[[0-9]{3}\] [0-9]+ responses'
}
for c in 8 64; do
    run "$c" '{"message": "What are your business hours?", "session_id": "bench"}'
    run "$c" '{"message": "What are your business hours?"}'
done
