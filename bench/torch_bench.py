#!/usr/bin/python3
"""PyTorch side of seqkit's peer benchmark: the same four configurations as
bench/seqkit (tagger, classifier, lm, seq2seq), trained on random batches with
Adam (lr 1e-3) and run for inference, one JSON object per configuration.

Run through bench/run.sh, which sets the thread variables PyTorch needs on this
machine (OMP_WAIT_POLICY=PASSIVE, 2 OpenMP and OpenBLAS threads). Written for
Debian's python3-torch; checked against ../shared/bench/torch_bench.py, whose
figures it should match.
"""
import argparse, json, resource, time
import torch, torch.nn as nn, torch.nn.functional as F

CONFIGS = {
    "tagger": dict(B=32, T=20, V=1000, E=100, H=128, C=127),
    "classifier": dict(B=64, T=64, V=20000, E=128, H=256, C=2),
    "lm": dict(B=32, T=35, V=10000, E=256, H=512, C=10000),
    "seq2seq": dict(B=32, T=20, Tt=20, V=5000, E=128, H=256, C=5000),
}


# The products of the configurations' forward passes, MxNxK (activations MxK
# times weights NxK, transposed): the recurrent steps, the input projections
# and the output layers. bench/seqkit times the same list (--gemm).
GEMM_SHAPES = ["32x512x128", "640x512x100", "640x127x256", "64x768x256", "4096x768x128",
               "32x2048x512", "1120x2048x256", "1120x10000x512", "32x768x256", "640x5000x256"]


class Net(nn.Module):
    def __init__(self, name, c):
        super().__init__()
        self.name = name
        self.emb = nn.Embedding(c["V"], c["E"])
        if name in ("tagger", "lm"):
            self.rnn = nn.LSTM(c["E"], c["H"], batch_first=True, bidirectional=name == "tagger")
            self.out = nn.Linear(c["H"] * (2 if name == "tagger" else 1), c["C"])
        elif name == "classifier":
            self.rnn = nn.GRU(c["E"], c["H"], batch_first=True)
            self.out = nn.Linear(c["H"], c["C"])
        else:
            self.rnn = nn.GRU(c["E"], c["H"], batch_first=True)
            self.temb = nn.Embedding(c["V"], c["E"])
            self.dec = nn.GRU(c["E"], c["H"], batch_first=True)
            self.combine = nn.Linear(2 * c["H"], c["H"], bias=False)
            self.out = nn.Linear(c["H"], c["C"])

    def forward(self, src, tgt_in=None):
        h, last = self.rnn(self.emb(src))
        if self.name == "classifier":
            return self.out(last[0])
        if self.name != "seq2seq":
            return self.out(h)
        d, _ = self.dec(self.temb(tgt_in), last)
        a = torch.softmax(torch.bmm(d, h.transpose(1, 2)), dim=-1)
        return self.out(torch.tanh(self.combine(torch.cat([torch.bmm(a, h), d], dim=-1))))


def batches(name, c, n, g):
    B, T, V = c["B"], c["T"], c["V"]
    out = []
    for _ in range(n):
        src = torch.randint(0, V, (B, T), generator=g)
        if name == "classifier":
            out.append((src, None, torch.randint(0, c["C"], (B,), generator=g)))
        elif name == "seq2seq":
            out.append((src, torch.randint(0, V, (B, c["Tt"]), generator=g), torch.randint(0, c["C"], (B, c["Tt"]), generator=g)))
        else:
            out.append((src, None, torch.randint(0, c["C"], (B, T), generator=g)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="tagger,classifier,lm,seq2seq")
    ap.add_argument("--train-batches", type=int, default=50)
    ap.add_argument("--infer-batches", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--gemm", action="store_true", help="also time SGEMM: 512^3 and the configurations' products (GEMM_SHAPES)")
    a = ap.parse_args()
    if a.gemm:
        x, y = torch.randn(512, 512), torch.randn(512, 512)
        for _ in range(5):
            x @ y
        t0 = time.perf_counter()
        for _ in range(50):
            x @ y
        print(json.dumps({"peer": "pytorch", "config": "sgemm512", "gflops": 50 * 2 * 512**3 / (time.perf_counter() - t0) / 1e9}), flush=True)
        for shape in GEMM_SHAPES:
            m, n, k = (int(v) for v in shape.split("x"))
            x, w = torch.randn(m, k), torch.randn(n, k)  # activations times stored weights, transposed
            reps = max(5, int(2e9 / (2 * m * n * k)))
            for _ in range(3):
                x @ w.t()
            t0 = time.perf_counter()
            for _ in range(reps):
                x @ w.t()
            print(json.dumps({"peer": "pytorch", "config": "gemm " + shape, "gflops": reps * 2 * m * n * k / (time.perf_counter() - t0) / 1e9}), flush=True)
    for name in filter(None, a.configs.split(",")):
        c = CONFIGS[name]
        torch.manual_seed(1)
        m = Net(name, c)
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        pool = batches(name, c, 8, torch.Generator().manual_seed(2))
        tokens = c["B"] * c.get("Tt", c["T"])
        m.train()
        train = 0.0
        for i in range(a.warmup + a.train_batches):
            src, tin, gold = pool[i % len(pool)]
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            lg = m(src, tin)
            loss = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), gold.reshape(-1))
            loss.backward()
            opt.step()
            if i >= a.warmup:
                train += time.perf_counter() - t0
        m.eval()
        infer = 0.0
        with torch.no_grad():
            for i in range(a.warmup + a.infer_batches):
                src, tin, _ = pool[i % len(pool)]
                t0 = time.perf_counter()
                m(src, tin)
                if i >= a.warmup:
                    infer += time.perf_counter() - t0
        print(json.dumps({
            "peer": "pytorch", "config": name, "threads": torch.get_num_threads(),
            "params": sum(p.numel() for p in m.parameters()),
            "train_tokens_per_s": tokens * a.train_batches / train,
            "infer_tokens_per_s": tokens * a.infer_batches / infer,
            "train_ms_per_batch": 1e3 * train / a.train_batches,
            "infer_ms_per_batch": 1e3 * infer / a.infer_batches,
            "final_loss": loss.item(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }), flush=True)


if __name__ == "__main__":
    main()
