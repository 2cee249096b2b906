#!/usr/bin/env bash
# Trains built-in recipes with several seeds (seqkit run --seeds) for the
# README's results table, and prints for each its test metrics over the seeds
# (mean ± std) and its seeds' ensemble, from the folder's seeds.json.
#   bash bench/seeds.sh OUT_DIR [SEEDS] RECIPE ...
# e.g. two lists at once on a 2-core machine, one core each:
#   bash bench/seeds.sh runs-seeds 3 conll2000-chunk atis-slots &
#   bash bench/seeds.sh runs-seeds 3 atis-joint mr-sentiment names-language &
# A folder already there is resumed (finished seeds are kept). The data root
# is ../shared/datasets beside the checkout unless SEQKIT_DATA says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash bench/seeds.sh OUT_DIR [SEEDS] RECIPE ...}
shift
seeds=3
if [[ ${1:-} =~ ^[0-9]+$ ]]; then seeds=$1; shift; fi
mkdir -p "$out"
bin=$(mktemp -d)/seqkit
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/seqkit
go build -o "$out/plugins/seqkit-plugin-forecast" ./plugins/examples/forecast/cmd/seqkit-plugin-forecast
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(go env GOVERSION)"
for r in "$@"; do
  dir="$out/$r"
  resume=()
  [ -e "$dir" ] && resume=(--resume)
  start=$(date +%s)
  "$bin" run "$r" --seeds "$seeds" -o "$dir" "${resume[@]}" --data-root "${SEQKIT_DATA:-../shared/datasets}" \
    --plugin-dir "$out/plugins" --log-format json >"$dir.out" 2>"$dir.log" ||
    { echo "$r: failed"; tail -3 "$dir.log"; continue; }
  echo "$r: $(( $(date +%s) - start )) s wall"
  grep -E "^(test|dev)[ ,]" "$dir.out"
done
