#!/usr/bin/env bash
# The data pipeline's throughput: BenchmarkEncode reads 64 MB files of JSON
# Lines, CSV and CoNLL (rows like a short-text corpus: twelve words and a
# label; CoNLL sentences of 8 to 27 tokens), counting the vocabularies (the
# first pass of a run, one goroutine) and reading, tokenizing, encoding and
# writing the Arrow cache (cold: a new cache each time; 2 encoding workers).
# Prints MB/s, rows/s and allocations per row, with the CPU.
#   bash bench/pipeline.sh [COUNT]      # COUNT runs of each (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-3}
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(go env GOVERSION)"
go test ./pipeline -run '^$' -bench 'Encode/(jsonl|csv|conll)/(vocab|cold)$' -benchtime 3x -count "$count" |
  awk '/^BenchmarkEncode/ {
    name = $1; sub(/^BenchmarkEncode\//, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 2; i <= NF; i++) {
      if ($i == "MB/s") mb[name] = mb[name] " " $(i-1)
      if ($i == "allocs/row") al[name] = $(i-1)
      if ($i == "cores") co[name] = co[name] " " $(i-1)
    }
    if (!(name in seen)) { seen[name] = 1; order[++n] = name }
  }
  END {
    print "| input / pass | MB/s (each run) | cores busy | allocations per row |"
    print "| --- | ---: | ---: | ---: |"
    for (k = 1; k <= n; k++) { nm = order[k]; printf "| %s |%s |%s | %s |\n", nm, mb[nm], (nm in co) ? co[nm] : " –", (nm in al) ? al[nm] : "–" }
  }'
