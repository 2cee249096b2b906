"""PyTorch twin of the atis-joint recipe: words (100) beside a character
BiLSTM (25 per direction), dropout 0.5, BiLSTM(128 per direction), dropout
0.5, a CRF over the slot tags and an attention-pooled intent (loss weight 1);
Adam (lr 0.001), gradients clipped at 5, batches of 16 bucketed by length.
See twin.py for what is timed."""

import torch

import tagger
import twin


def read(folder):
    def lines(name):
        with open(f"{folder}/{name}", encoding="utf-8") as f:
            return [l.split() for l in f.read().splitlines()]
    words, tags, labels = lines("seq.in"), lines("seq.out"), lines("label")
    return [{"words": w, "tags": t, "label": " ".join(l)} for w, t, l in zip(words, tags, labels)]


def main():
    a = twin.args(__doc__)
    clock = twin.Clock("atis-joint")
    train, dev = read(f"{a.data}/atis/train"), read(f"{a.data}/atis/valid")
    tagger.run("atis-joint", a, clock, train, dev, 16, 100, 128,
               lambda p: torch.optim.Adam(p, lr=0.001), feats=False)


if __name__ == "__main__":
    main()
