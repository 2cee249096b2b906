"""PyTorch twin of the conll2000-chunk recipe: words (100) beside POS tags (20)
and a character BiLSTM (25 per direction), dropout 0.5, BiLSTM(200 per
direction), dropout 0.5, a CRF over BIO chunk tags; AdamW (lr 0.002, weight
decay 0.1), gradients clipped at 5, batches of 32 bucketed by length. Dev is a
seeded tenth of the training sentences, as the recipe's data.split. See
twin.py for what is timed."""

import random

import torch

import tagger
import twin


def read(path):
    sents, cur = [], {"words": [], "feats": [], "tags": []}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.split()
            if not cols:
                if cur["words"]:
                    sents.append(cur)
                cur = {"words": [], "feats": [], "tags": []}
                continue
            cur["words"].append(cols[0])
            cur["feats"].append(cols[1])
            cur["tags"].append(cols[-1])
    if cur["words"]:
        sents.append(cur)
    return sents


def main():
    a = twin.args(__doc__)
    clock = twin.Clock("conll2000-chunk")
    sents = read(f"{a.data}/conll2000/train.txt")
    rng = random.Random(2000)
    dev_rows = set(rng.sample(range(len(sents)), len(sents) // 10))
    train = [s for i, s in enumerate(sents) if i not in dev_rows]
    dev = [s for i, s in enumerate(sents) if i in dev_rows]
    tagger.run("conll2000-chunk", a, clock, train, dev, 32, 100, 200,
               lambda p: torch.optim.AdamW(p, lr=0.002, weight_decay=0.1), feats=True)


if __name__ == "__main__":
    main()
