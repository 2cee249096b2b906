#!/usr/bin/env bash
# Trains the built-in recipes that finish in minutes with their own seeds and
# prints one line per recipe: the SHA-256 of its best and last checkpoints
# (weights, optimizer state, loop state less the size of metrics.jsonl) and of
# its metrics without the timing fields. A restructuring that changes no behaviour must print the same lines
# before and after, on the same machine:
#   bash bench/samebits.sh > /tmp/before.txt   # on the old commit
#   bash bench/samebits.sh > /tmp/after.txt    # on the new one
#   diff /tmp/before.txt /tmp/after.txt
# bench/samebits.txt holds the lines of the last recorded run and the CPU it
# ran on. Recipes that read ../shared/datasets need it beside the checkout.
#   bash bench/samebits.sh [RECIPE ...]   # default: taipei reverse names-language mr-sentiment forecast-min-temp
set -euo pipefail
cd "$(dirname "$0")/.."
recipes=("$@")
[ ${#recipes[@]} -gt 0 ] || recipes=(taipei reverse names-language mr-sentiment forecast-min-temp)
bin=$(mktemp -d)/seqkit
work=$(mktemp -d)
trap 'rm -rf "$work" "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/seqkit
# The forecasting recipe runs the example plugin.
go build -o "$work/plugins/seqkit-plugin-forecast" ./plugins/examples/forecast/cmd/seqkit-plugin-forecast
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(go env GOVERSION)"
for r in "${recipes[@]}"; do
  out="$work/$r"
  XDG_CACHE_HOME="$work/cache" "$bin" run "$r" -o "$out" --data-root ../shared/datasets --plugin-dir "$work/plugins" >/dev/null 2>"$work/$r.log" ||
    { echo "$r: failed"; tail -3 "$work/$r.log"; continue; }
  # loop.json's MetricsBytes is the size of metrics.jsonl, whose throughput
  # figures vary: it is hashed without it.
  files=$(cd "$out" && find checkpoints -type f ! -name vocab.sha256.json ! -name loop.json | sort)
  sums=$( (cd "$out" && sha256sum $files && for f in checkpoints/*/loop.json; do
    python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); m.pop("MetricsBytes", None); print(sys.argv[1], json.dumps(m, sort_keys=True))' "$f"; done) |
    sha256sum | cut -c1-16)
  metrics=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    m.pop("tokens_per_s", None)
    print(json.dumps(m, sort_keys=True))' "$out/metrics.jsonl" | sha256sum | cut -c1-16)
  echo "$r checkpoints $sums metrics $metrics"
done
