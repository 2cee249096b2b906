#!/usr/bin/env bash
# Load test of seqkit serve on loopback: the demo tagger (trained here in a few
# seconds, or RUN_DIR), served with dynamic batching (--max-batch 64
# --max-wait 2ms) and without (--max-batch 1), under 1, 16 and 64 concurrent
# clients, each posting one input at a time; REQUESTS requests per level,
# each level bounded to 30 s. Prints requests/s and p50/p99 latency.
#   bash bench/serve.sh [RUN_DIR] [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/seqkit" ./cmd/seqkit
go build -o "$work/serveload" ./bench/serveload
run=${1:-}
requests=${2:-3000}
if [ -z "$run" ]; then
  run="$work/taipei"
  "$work/seqkit" train taipei -o "$run" --set output.plots=false >/dev/null 2>&1
fi
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(go env GOVERSION)"
echo "| batching | clients | requests/s | p50 ms | p99 ms | answered |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for mode in on off; do
  flags=(--max-batch 64 --max-wait 2ms)
  [ "$mode" = off ] && flags=(--max-batch 1 --max-wait 0s)
  "$work/seqkit" serve -m "$run" --addr 127.0.0.1:0 --max-in-flight 1024 "${flags[@]}" 2>"$work/serve.log" &
  pid=$!
  url=""
  for _ in $(seq 100); do
    url=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1 || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "the server did not start"; cat "$work/serve.log"; exit 1; }
  for clients in 1 16 64; do
    "$work/serveload" --url "$url" --clients "$clients" --requests "$requests" --time 30s |
      python3 -c "import json,sys; r=json.load(sys.stdin); print(f\"| $mode | {r['clients']} | {r['requests_per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['answered']} |\")"
  done
  kill -TERM "$pid"; wait "$pid" || true; pid=""
done
