"""Shared parts of the PyTorch twins of seqkit's built-in recipes.

Each twin (bench/twins/RECIPE.py) trains the recipe's model in PyTorch as a
PyTorch user would write it: the same architecture, data files, vocabulary
rules, batch size and optimizer, a DataLoader over length-bucketed batches,
packed sequences for the recurrent layers. It times, data loading included,
what `seqkit train RECIPE --set train.epochs=N` does: read and encode the
data, N epochs, a dev evaluation after each. bench/twins.sh runs both back to
back and prints the ratios.

Output: one JSON object per epoch on stdout (the dev metric, for learning
curves side by side) and a last one with the times.
"""

import argparse
import json
import os
import random
import sys
import time
from collections import Counter

import torch

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]


def args(description, default_epochs=1):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", default=os.environ.get("SEQKIT_DATA", "../shared/datasets"))
    p.add_argument("--epochs", type=int, default=default_epochs)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-batches", type=int, default=0, help="stop an epoch after this many batches (0: all)")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    return a


class Vocab:
    """Tokens seen at least min_freq times in training, after the specials,
    most frequent first (ties in first-seen order), as seqkit builds them."""

    def __init__(self, sequences, min_freq=1, specials=True):
        counts = Counter()
        for s in sequences:
            counts.update(s)
        self.itos = list(SPECIALS) if specials else []
        self.itos += [t for t, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c >= min_freq and t not in SPECIALS]
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, tokens):
        return [self.stoi.get(t, UNK) for t in tokens]


def buckets(lengths, batch_size, shuffle, rng, window_batches=100):
    """Batches of indices of similar length: sort within windows of 100
    batches' worth of examples, cut, shuffle the batches (seqkit's bucketing)."""
    idx = list(range(len(lengths)))
    if shuffle:
        rng.shuffle(idx)
    out = []
    w = window_batches * batch_size
    for s in range(0, len(idx), w):
        win = sorted(idx[s:s + w], key=lambda i: lengths[i])
        out += [win[j:j + batch_size] for j in range(0, len(win), batch_size)]
    if shuffle:
        rng.shuffle(out)
    return out


class Clock:
    """Wall time of the phases, printed at the end."""

    def __init__(self, name):
        self.name, self.t0, self.marks = name, time.perf_counter(), {}
        self.last = self.t0

    def mark(self, phase):
        now = time.perf_counter()
        self.marks[phase] = self.marks.get(phase, 0.0) + now - self.last
        self.last = now

    def report(self, **extra):
        out = {"peer": "pytorch", "recipe": self.name, "seconds": time.perf_counter() - self.t0}
        out.update({k + "_s": round(v, 3) for k, v in self.marks.items()})
        out.update(extra)
        print(json.dumps(out), flush=True)


def epoch_line(recipe, epoch, metrics):
    print(json.dumps({"peer": "pytorch", "recipe": recipe, "epoch": epoch, "dev": metrics}), flush=True)


def clip(params, max_norm):
    if max_norm > 0:
        torch.nn.utils.clip_grad_norm_(params, max_norm)


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)
