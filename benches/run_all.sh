#!/usr/bin/env bash
# Reproduces every benchmark figure in the README: the runner end to end (cargo bench), the mock
# under raw load (benches/mock_load.sh), and the noise experiment. Needs `oha` for the raw-load
# comparisons (cargo install oha) and valgrind for the instruction counts. Takes a few minutes
# on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --benches --quiet
bench() { cargo bench --quiet --bench run_bench -- "$@" 2>/dev/null | grep -v '^$'; echo; }
echo "== 1,000 x 5 turns, zero latency, every variant"; bench --dialogues 1000 --turns 5 --jobs 8 --rounds 3
echo "== CPU per request, paired by round, 40,000 requests a run"; bench --dialogues 400 --turns 5 --jobs 8 --repeat 20 --rounds 12
echo "== instructions per request (callgrind; skipped without valgrind)"
command -v valgrind >/dev/null && bench --dialogues 400 --turns 5 --jobs 8 --instructions
echo "== 1,000 x 5 turns, 64 connections";  bench --dialogues 1000 --turns 5 --jobs 64 --kinds thinnest --rounds 3
echo "== 200 x 5 turns, 100 ms latency";   bench --dialogues 200 --turns 5 --jobs 50 --latency 100ms
echo "== memory";                          bench --dialogues 10000 --turns 5 --jobs 64 --kinds thinnest
echo "== the load alone";                  cargo bench --quiet --bench load_bench 2>/dev/null
echo "== the mock under raw load";         bash benches/mock_load.sh 5s
echo "== noise experiment";                cargo bench --quiet --bench noise_experiment -- --seeds 100 2>/dev/null
