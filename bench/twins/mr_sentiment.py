"""PyTorch twin of the mr-sentiment recipe: Emb(V,128) -> dropout 0.5 ->
BiLSTM(128 per direction) -> dropout 0.5 -> max pooling over the words ->
Linear(256,2), plus a linear layer over hashed word uni- and bigrams (262,144
buckets, summed, half of the n-grams dropped in training) added to the logits;
AdamW (lr 0.003, weight decay 0.1), gradients clipped at 5, batches of 32
bucketed by length. See twin.py for what is timed."""

import random

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.data import DataLoader

import twin

BUCKETS, NGRAM_DROPOUT = 262144, 0.5


def read(path):
    labels, texts = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            label, text = line.rstrip("\n").split("\t", 1)
            labels.append(label)
            texts.append(text.split())
    return labels, texts


def ngrams(ids, n=2):
    """Hashed 1..n-grams of <bos> ids <eos>, <bos> and <eos> alone left out."""
    seq = [twin.BOS] + ids + [twin.EOS]
    out = []
    for s in range(len(seq)):
        for k in range(n):
            if s + k >= len(seq) or (k == 0 and (s == 0 or s == len(seq) - 1)):
                continue
            out.append(hash(tuple(seq[s:s + k + 1])) % BUCKETS)
    return out


class Model(nn.Module):
    def __init__(self, vocab, classes):
        super().__init__()
        self.emb = nn.Embedding(vocab, 128, padding_idx=twin.PAD)
        self.drop = nn.Dropout(0.5)
        self.rnn = nn.LSTM(128, 128, bidirectional=True)
        self.out = nn.Linear(256, classes)
        self.bag = nn.EmbeddingBag(BUCKETS, classes, mode="sum")
        nn.init.zeros_(self.bag.weight)

    def forward(self, ids, lengths, bag, offsets):
        x = self.drop(self.emb(ids))  # [T, B, E]
        h, _ = self.rnn(pack_padded_sequence(x, lengths, enforce_sorted=False))
        h, _ = pad_packed_sequence(h, padding_value=float("-inf"))
        pooled = self.drop(h.max(dim=0).values)
        return self.out(pooled) + self.bag(bag, offsets)


def collate(examples, train):
    ids = [torch.tensor(e[0] or [twin.UNK]) for e in examples]
    lengths = torch.tensor([len(x) for x in ids])
    padded = nn.utils.rnn.pad_sequence(ids, padding_value=twin.PAD)
    bag, offsets = [], []
    for e in examples:
        grams = e[1]
        if train:
            kept = [g for g in grams if random.random() >= NGRAM_DROPOUT]
            grams = kept or grams[:1]
        offsets.append(len(bag))
        bag += grams
    labels = torch.tensor([e[2] for e in examples])
    return padded, lengths, torch.tensor(bag), torch.tensor(offsets), labels


def main():
    a = twin.args(__doc__)
    clock = twin.Clock("mr-sentiment")
    tl, tt = read(f"{a.data}/mr/mr.train.tsv")
    dl, dt = read(f"{a.data}/mr/mr.dev.tsv")
    vocab = twin.Vocab(tt, min_freq=2)
    classes = sorted(set(tl))
    cid = {c: i for i, c in enumerate(classes)}

    def encode(labels, texts):
        out = []
        for l, t in zip(labels, texts):
            ids = vocab.encode(t)
            out.append((ids, ngrams(ids), cid.get(l, -1)))
        return out

    train, dev = encode(tl, tt), encode(dl, dt)
    clock.mark("data")
    model = Model(len(vocab), len(classes))
    opt = torch.optim.AdamW(model.parameters(), lr=0.003, weight_decay=0.1)
    rng = random.Random(a.seed)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, a.epochs + 1):
        model.train()
        order = twin.buckets([len(e[0]) for e in train], 32, True, rng)
        loader = DataLoader(order, batch_size=None, collate_fn=lambda b: collate([train[i] for i in b], True))
        for n, (ids, lengths, bag, offsets, labels) in enumerate(loader):
            if a.max_batches and n >= a.max_batches:
                break
            opt.zero_grad()
            loss = loss_fn(model(ids, lengths, bag, offsets), labels)
            loss.backward()
            twin.clip(model.parameters(), 5)
            opt.step()
        clock.mark("train")
        model.eval()
        correct = 0
        with torch.no_grad():
            order = twin.buckets([len(e[0]) for e in dev], 32, False, rng)
            for ids, lengths, bag, offsets, labels in DataLoader(order, batch_size=None, collate_fn=lambda b: collate([dev[i] for i in b], False)):
                correct += (model(ids, lengths, bag, offsets).argmax(1) == labels).sum().item()
        twin.epoch_line("mr-sentiment", epoch, {"accuracy": 100 * correct / len(dev)})
        clock.mark("eval")
    clock.report(train_examples=len(train), epochs=a.epochs)


if __name__ == "__main__":
    main()
