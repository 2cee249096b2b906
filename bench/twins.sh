#!/usr/bin/env bash
# Whole recipes against their PyTorch twins (bench/twins/*.py): each side
# reads the recipe's data files, builds its vocabularies, trains EPOCHS epochs
# and evaluates dev after each, timed from start to end as a user waits for
# it (seqkit train with a fresh cache folder, so reading and encoding count).
# The two run back to back, alternately, ROUNDS times; the table gives the
# wall seconds of each and the ratio PyTorch / seqkit (above 1: seqkit is
# faster), and the dev metric each reached, to show that both learn alike.
#   bash bench/twins.sh                          # the five recipes, 1 epoch, 2 rounds
#   EPOCHS=8 ROUNDS=1 bash bench/twins.sh atis-joint   # learning curves side by side
# cmudict-g2p's dev evaluation decodes greedily on both sides
# (--set task.beam=1). Raw results: bench/twins.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
recipes=("$@")
[ ${#recipes[@]} -gt 0 ] || recipes=(atis-joint conll2000-chunk mr-sentiment names-lm cmudict-g2p)
epochs=${EPOCHS:-1}
rounds=${ROUNDS:-2}
data=$(cd "${SEQKIT_DATA:-../shared/datasets}" && pwd)
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]; then
  echo "installing python3-torch and OpenBLAS" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch libopenblas0-pthread >/dev/null
fi
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/seqkit" ./cmd/seqkit
out=bench/twins.jsonl
: >"$out"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo "# $cpu, $(nproc) cores, $(go env GOVERSION), $(/usr/bin/python3 -c 'import torch; print("torch", torch.__version__)')"
for round in $(seq "$rounds"); do
  for r in "${recipes[@]}"; do
    echo "round $round: $r" >&2
    run="$work/run-$r-$round"
    sets=(--set "train.epochs=$epochs" --set output.plots=false)
    [ "$r" = cmudict-g2p ] && sets+=(--set task.beam=1)
    start=$(date +%s.%N)
    "$work/seqkit" train "$r" -o "$run" --cache-dir "$work/cache-$r-$round" --data-root "$data" "${sets[@]}" \
      --log-format json >/dev/null 2>"$run.log" || { echo "$r: seqkit failed" >&2; tail -3 "$run.log" >&2; exit 1; }
    end=$(date +%s.%N)
    /usr/bin/python3 - "$run/metrics.jsonl" "$r" "$round" "$start" "$end" >>"$out" <<'PY'
import json, sys
path, recipe, rnd, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
for l in open(path):
    m = json.loads(l)
    if m.get("split") == "dev":
        print(json.dumps({"round": rnd, "peer": "seqkit", "recipe": recipe, "epoch": m["epoch"], "dev": {k: v for k, v in m.items() if k not in ("split", "epoch", "step")}}))
print(json.dumps({"round": rnd, "peer": "seqkit", "recipe": recipe, "seconds": end - start}))
PY
    (cd bench/twins && /usr/bin/python3 "${r//-/_}.py" --data "$data" --epochs "$epochs") | sed "s/^{/{\"round\":$round,/" >>"$out"
  done
done
/usr/bin/python3 - "$out" "$cpu" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
metric = {"atis-joint": "f1", "conll2000-chunk": "f1", "mr-sentiment": "accuracy", "names-lm": "nll", "cmudict-g2p": "wer"}
def dev(m, recipe):
    k = metric[recipe]
    if k == "wer" and "exact_match" in m:
        return 100 - m["exact_match"]
    return m.get(k)
print(f"\nCPU: {sys.argv[2]}\n")
print("| recipe | seqkit s | PyTorch s | ratio PyTorch / seqkit | dev seqkit | dev PyTorch |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for recipe in dict.fromkeys(r["recipe"] for r in rows):
    t = {p: [r["seconds"] for r in rows if r["recipe"] == recipe and r["peer"] == p and "seconds" in r] for p in ("seqkit", "pytorch")}
    last = {p: [r for r in rows if r["recipe"] == recipe and r["peer"] == p and "dev" in r] for p in ("seqkit", "pytorch")}
    if not t["seqkit"] or not t["pytorch"]:
        continue
    ratios = [p / s for s, p in zip(t["seqkit"], t["pytorch"])]
    d = {p: dev(last[p][-1]["dev"], recipe) if last[p] else None for p in last}
    f = lambda v: "–" if v is None else f"{v:.2f}"
    print(f"| {recipe} | {min(t['seqkit']):.1f}–{max(t['seqkit']):.1f} | {min(t['pytorch']):.1f}–{max(t['pytorch']):.1f} | "
          f"{min(ratios):.2f}–{max(ratios):.2f} | {f(d['seqkit'])} | {f(d['pytorch'])} |")
curves = [r for r in rows if "dev" in r and r["round"] == 1]
if max((r["epoch"] for r in curves), default=0) > 1:
    print("\n| recipe | epoch | dev seqkit | dev PyTorch |\n| --- | ---: | ---: | ---: |")
    for recipe in dict.fromkeys(r["recipe"] for r in curves):
        by = {(r["peer"], r["epoch"]): dev(r["dev"], recipe) for r in curves if r["recipe"] == recipe}
        for e in sorted({e for _, e in by}):
            print(f"| {recipe} | {e} | {by.get(('seqkit', e), 0):.2f} | {by.get(('pytorch', e), 0):.2f} |")
PY
