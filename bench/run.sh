#!/usr/bin/env bash
# Runs seqkit's and PyTorch's sides of the peer benchmark back to back, twice
# (alternating, each configuration in its own process so that peak memory is
# its own), and prints one table of ratios (seqkit / PyTorch; above 1 is seqkit
# faster, below 1 for memory is seqkit smaller). Raw results go to
# bench/results.jsonl.
#   bash bench/run.sh                  # all configurations, about 5 minutes
#   bash bench/run.sh tagger,lm        # some
set -euo pipefail
cd "$(dirname "$0")/.."
configs=${1:-tagger,classifier,lm,seq2seq}
# PyTorch, and OpenBLAS under it: Debian's python3-torch alone links the
# reference BLAS (about 4 GFLOP/s at 512³ here, 40 times slower), which would
# flatter seqkit.
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]; then
  echo "installing python3-torch and OpenBLAS" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch libopenblas0-pthread >/dev/null
fi
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
go build -o /tmp/seqkit-bench ./bench/seqkit
out=bench/results.jsonl
: > "$out"
for round in 1 2; do
  for c in ${configs//,/ }; do
    echo "round $round: $c" >&2
    /tmp/seqkit-bench --configs "$c" | sed "s/^{/{\"round\":$round,/" >> "$out"
    /usr/bin/python3 bench/torch_bench.py --configs "$c" | sed "s/^{/{\"round\":$round,/" >> "$out"
  done
  /usr/bin/python3 bench/torch_bench.py --gemm --configs "" | sed "s/^{/{\"round\":$round,/" >> "$out"
  go test ./nn -run '^$' -bench 'Gemm512$' -benchtime 50x | awk -v r=$round '/GFLOP/ {printf "{\"round\":%s,\"peer\":\"seqkit\",\"config\":\"sgemm512\",\"gflops\":%s}\n", r, $(NF-1)}' >> "$out"
  /tmp/seqkit-bench --gemm | sed "s/^{/{\"round\":$round,/" >> "$out"
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def get(peer, cfg, key):
    return [r[key] for r in rows if r["peer"] == peer and r["config"] == cfg and key in r]
print("| config | train tok/s seqkit | PyTorch | ratio | infer tok/s seqkit | PyTorch | ratio | peak RSS MB seqkit | PyTorch |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for cfg in ["tagger", "classifier", "lm", "seq2seq"]:
    s, p = get("seqkit", cfg, "train_tokens_per_s"), get("pytorch", cfg, "train_tokens_per_s")
    if not s or not p:
        continue
    si, pi = get("seqkit", cfg, "infer_tokens_per_s"), get("pytorch", cfg, "infer_tokens_per_s")
    sm, pm = get("seqkit", cfg, "peak_rss_mb"), get("pytorch", cfg, "peak_rss_mb")
    ratios = [a / b for a, b in zip(s, p)]
    iratios = [a / b for a, b in zip(si, pi)]
    rng = lambda v: f"{min(v):,.0f}–{max(v):,.0f}"
    rr = lambda v: f"{min(v):.2f}–{max(v):.2f}"
    print(f"| {cfg} | {rng(s)} | {rng(p)} | {rr(ratios)} | {rng(si)} | {rng(pi)} | {rr(iratios)} | {max(sm):.0f} | {max(pm):.0f} |")
g = {peer: get(peer, "sgemm512", "gflops") for peer in ("seqkit", "pytorch")}
if g["seqkit"] and g["pytorch"]:
    print(f"\nSGEMM 512³: seqkit {min(g['seqkit']):.0f}–{max(g['seqkit']):.0f} GFLOP/s, "
          f"PyTorch (OpenBLAS) {min(g['pytorch']):.0f}–{max(g['pytorch']):.0f} GFLOP/s")
# Model-FLOP utilisation: training FLOPs per second over OpenBLAS's best 512³
# rate of the run (its best, so that a round slowed by the machine does not
# flatter either side). Training FLOPs are three times the forward products'
# (multiply-add = 2), elementwise work not counted; per token (of the target
# for seq2seq): tagger 1.6 M, classifier 1.77 M, lm 40 M, seq2seq 12 M.
def fwd_flops(cfg):
    B, T, V, E, H, C = (dict(tagger=(32, 20, 1000, 100, 128, 127), classifier=(64, 64, 20000, 128, 256, 2),
                         lm=(32, 35, 10000, 256, 512, 10000), seq2seq=(32, 20, 5000, 128, 256, 5000))[cfg])
    if cfg == "tagger":
        return 2 * (2 * (E + H) * 4 * H) + 2 * 2 * H * C
    if cfg == "classifier":
        return 2 * (E + H) * 3 * H + 2 * H * C / T
    if cfg == "lm":
        return 2 * (E + H) * 4 * H + 2 * H * C
    return 2 * 2 * (E + H) * 3 * H + 2 * 2 * T * H + 2 * 2 * H * H + 2 * H * C
best = max((r["gflops"] for r in rows if r["peer"] == "pytorch" and r["config"] == "sgemm512"), default=0)
blas = {r["round"]: best for r in rows if r["peer"] == "pytorch" and r["config"] == "sgemm512"}
if blas:
    print("\n| config | training GFLOP/s seqkit | PyTorch | MFU seqkit | PyTorch |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for cfg in ["tagger", "classifier", "lm", "seq2seq"]:
        f = 3 * fwd_flops(cfg)
        per = {peer: [(r["train_tokens_per_s"] * f / 1e9, r["round"]) for r in rows
                      if r["peer"] == peer and r["config"] == cfg and "train_tokens_per_s" in r] for peer in ("seqkit", "pytorch")}
        if not per["seqkit"] or not per["pytorch"]:
            continue
        mfu = {peer: [100 * gf / blas[rd] for gf, rd in per[peer] if rd in blas] for peer in per}
        gfr = lambda v: f"{min(x for x, _ in v):.0f}–{max(x for x, _ in v):.0f}"
        pr = lambda v: f"{min(v):.0f}–{max(v):.0f}%"
        print(f"| {cfg} | {gfr(per['seqkit'])} | {gfr(per['pytorch'])} | {pr(mfu['seqkit'])} | {pr(mfu['pytorch'])} |")
shapes = sorted({r["config"] for r in rows if r["config"].startswith("gemm ")}, key=lambda c: [int(v) for v in c[5:].split("x")])
if shapes:
    print("\n| SGEMM M×N×K | seqkit GFLOP/s | OpenBLAS | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for c in ["sgemm512"] + shapes:
        s, p = get("seqkit", c, "gflops"), get("pytorch", c, "gflops")
        if s and p:
            name = "512×512×512" if c == "sgemm512" else c[5:].replace("x", "×")
            print(f"| {name} | {min(s):.0f}–{max(s):.0f} | {min(p):.0f}–{max(p):.0f} | {min(a / b for a, b in zip(s, p)):.2f}–{max(a / b for a, b in zip(s, p)):.2f} |")
PY
