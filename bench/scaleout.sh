#!/usr/bin/env bash
# Scale-out benchmark: one process against Beam's prism runner, on this machine.
#
#   bash bench/scaleout.sh                 # 2 GB per format, 16 shards
#   MB=256 SHARDS=16 bash bench/scaleout.sh  # a quicker look
#
# It generates a corpus (Taipei travel requests, pipeline/synth) of MB megabytes
# of text per format over SHARDS shards: JSON Lines compressed with gzip, and
# CoNLL. Then, for each format, it times `seqkit data prepare` without and with
# --runner prism (checking that both write the same bytes), and
# `seqkit predict` of PREDICT_SHARDS shards of the JSON Lines with a small
# tagger (the taipei demo, trained first), without and with --runner prism
# (checking the same predictions). It prints MB/s of text, rows/s and peak RSS
# (GNU time's maximum resident set, which covers seqkit-beam, a child of
# seqkit), and writes them to bench/scaleout.txt with the CPU's name.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${MB:-2048}
SHARDS=${SHARDS:-16}
PREDICT_SHARDS=${PREDICT_SHARDS:-$SHARDS}
WORK=${WORK:-/tmp/seqkit-scaleout}
OUT=${OUT:-bench/scaleout.txt}
mkdir -p "$WORK/bin"
go build -o "$WORK/bin/seqkit" ./cmd/seqkit
go build -o "$WORK/bin/seqkit-beam" ./cmd/seqkit-beam
go build -o "$WORK/bin/gencorpus" ./bench/scaleout/gencorpus
SK="$WORK/bin/seqkit"
corpus="$WORK/corpus-${MB}mb-${SHARDS}"
if [ ! -f "$corpus/.done" ]; then
  echo "== generating $MB MB per format in $SHARDS shards: $corpus"
  rm -rf "$corpus"
  "$WORK/bin/gencorpus" -o "$corpus" -mb "$MB" -shards "$SHARDS"
  touch "$corpus/.done"
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=$(grep -m1 '^flags' /proc/cpuinfo)
isa=AVX2; case "$flags" in *avx512f*) isa="AVX-512";; esac
{
  echo "# bench/scaleout.sh, $(date -u +%F), MB=$MB SHARDS=$SHARDS PREDICT_SHARDS=$PREDICT_SHARDS"
  echo "# CPU: $cpu ($isa), $(nproc) cores; Go $(go env GOVERSION)"
  echo "# job      format runner   seconds  MB/s  rows/s  peak_RSS_MB"
} > "$OUT"

# timed COMMAND...: runs the command under GNU time; sets secs and rss (KB).
timed() {
  local t; t=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$t" "$@" > "$WORK/last.out" 2> "$WORK/last.err" || { cat "$WORK/last.err"; exit 1; }
  read -r secs rss < <(tail -n1 "$t"); rm -f "$t"
}

# report NAME FORMAT RUNNER TEXT_MB ROWS: appends the line of the last timed run.
report() {
  printf "%-8s %-6s %-7s %8.1f %6.1f %8.0f %8.0f\n" "$1" "$2" "$3" "$secs" \
    "$(echo "$4 / $secs" | bc -l)" "$(echo "$5 / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)" | tee -a "$OUT"
}

for format in jsonl conll; do
  if [ $format = jsonl ]; then
    src="path: \"$corpus/jsonl/part-*.jsonl.gz\", columns: {tokens: tokens, tags: tags}"
  else
    src="path: \"$corpus/conll\", format: conll"
  fi
  cat > "$WORK/$format.yaml" <<YAML
name: scaleout-$format
data:
  train: {$src}
  tokenizer: {lower: true}
model: {embedding: 32, cell: lstm, hidden: 48, bidirectional: true}
task: {type: tagging}
train: {epochs: 1}
YAML
  rm -rf "$WORK/prep-one" "$WORK/prep-prism"
  timed "$SK" data prepare "$WORK/$format.yaml" -o "$WORK/prep-one"
  rows=$(grep -m1 '"rows"' "$WORK/prep-one/manifest.json" | tr -dc 0-9)
  report prepare $format one "$MB" "$rows"
  timed "$SK" data prepare "$WORK/$format.yaml" -o "$WORK/prep-prism" --runner prism
  report prepare $format prism "$MB" "$rows"
  diff -r "$WORK/prep-one" "$WORK/prep-prism" > /dev/null || { echo "prepare: the prism dataset differs from one process's"; exit 1; }
  rm -rf "$WORK/prep-one" "$WORK/prep-prism"
done

echo "== training the taipei demo to predict with"
rm -rf "$WORK/run"
"$SK" run taipei -o "$WORK/run" > /dev/null
inputs=()
for ((s = 0; s < PREDICT_SHARDS; s++)); do inputs+=(--input "$(printf '%s/jsonl/part-%05d.jsonl.gz' "$corpus" "$s")"); done
pmb=$(( MB * PREDICT_SHARDS / SHARDS ))
rm -rf "$WORK/pred-one.jsonl" "$WORK/pred-prism"
timed "$SK" predict -m "$WORK/run" "${inputs[@]}" --tokens tokens --output "$WORK/pred-one.jsonl"
rows=$(wc -l < "$WORK/pred-one.jsonl")
report predict jsonl one "$pmb" "$rows"
timed "$SK" predict -m "$WORK/run" "${inputs[@]}" --tokens tokens --output "$WORK/pred-prism" --runner prism
report predict jsonl prism "$pmb" "$rows"
cat "$WORK"/pred-prism/part-*.jsonl | cmp -s - "$WORK/pred-one.jsonl" || { echo "predict: prism's predictions differ from one process's"; exit 1; }
rm -rf "$WORK/pred-one.jsonl" "$WORK/pred-prism"
echo "# prism's outputs were checked equal to one process's (prepared datasets byte for byte, predictions line for line)" >> "$OUT"
echo "wrote $OUT"
