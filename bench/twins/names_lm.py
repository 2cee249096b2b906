"""PyTorch twin of the names-lm recipe: a character language model of names,
<bos> name <eos>: Emb(V,64) -> dropout 0.2 -> LSTM(768) x 2 (dropout 0.2
between the layers, weight dropout 0.4 on the recurrent weights, one mask per
batch as AWD-LSTM's WeightDrop) -> dropout 0.2 -> Linear(768, V); AdamW (lr
0.002, weight decay 0.1, linear warm-up over 200 steps then linear decay over
the recipe's 12 epochs), gradients clipped at 5, an exponential moving average
of the weights (0.999) evaluated on dev, batches of 32 bucketed by length.
Dev: NLL per character (the <eos> included). See twin.py for what is timed."""

import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

import twin

EPOCHS, WDROP = 12, 0.4


class LM(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.emb = nn.Embedding(vocab, 64, padding_idx=twin.PAD)
        self.drop = nn.Dropout(0.2)
        self.rnn = nn.LSTM(64, 768, num_layers=2, dropout=0.2)
        self.out = nn.Linear(768, vocab)

    def forward(self, ids, lengths):
        x = pack_padded_sequence(self.drop(self.emb(ids)), lengths, enforce_sorted=False)
        if self.training:
            # Weight dropout (AWD-LSTM's WeightDrop): the recurrent weights with
            # one mask for the batch, swapped into the weights the LSTM runs.
            flat = self.rnn._flat_weights
            self.rnn._flat_weights = [F.dropout(w, WDROP) if n.startswith("weight_hh") else w
                                      for n, w in zip(self.rnn._flat_weights_names, flat)]
            try:
                h, _ = self.rnn(x)
            finally:
                self.rnn._flat_weights = flat
        else:
            h, _ = self.rnn(x)
        h, _ = pad_packed_sequence(h, total_length=ids.shape[0])
        return self.out(self.drop(h))


def main():
    a = twin.args(__doc__)
    clock = twin.Clock("names-lm")

    def read(path):
        with open(path, encoding="utf-8") as f:
            return [list(l) for l in f.read().splitlines() if l]

    train_n, dev_n = read(f"{a.data}/names/names.train.txt"), read(f"{a.data}/names/names.dev.txt")
    vocab = twin.Vocab(train_n)
    train = [[twin.BOS] + vocab.encode(n) + [twin.EOS] for n in train_n]
    dev = [[twin.BOS] + vocab.encode(n) + [twin.EOS] for n in dev_n]
    clock.mark("data")
    model = LM(len(vocab))
    ema = torch.optim.swa_utils.AveragedModel(model, avg_fn=lambda avg, p, n: 0.999 * avg + 0.001 * p)
    opt = torch.optim.AdamW(model.parameters(), lr=0.002, weight_decay=0.1)
    total = EPOCHS * ((len(train) + 31) // 32)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / 200, max(0.0, (total - s) / max(1, total - 200))))
    rng = random.Random(a.seed)

    def collate(data, b):
        seqs = [torch.tensor(data[i]) for i in b]
        ids = pad_sequence(seqs, padding_value=twin.PAD)
        return ids[:-1], torch.tensor([len(s) - 1 for s in seqs]), ids[1:]

    for epoch in range(1, a.epochs + 1):
        model.train()
        order = twin.buckets([len(s) for s in train], 32, True, rng)
        for n, (x, lengths, y) in enumerate(torch.utils.data.DataLoader(order, batch_size=None, collate_fn=lambda b: collate(train, b))):
            if a.max_batches and n >= a.max_batches:
                break
            opt.zero_grad()
            logits = model(x, lengths)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=twin.PAD)
            loss.backward()
            twin.clip(model.parameters(), 5)
            opt.step()
            sched.step()
            ema.update_parameters(model)
        clock.mark("train")
        ema.eval()
        nll, chars = 0.0, 0
        with torch.no_grad():
            for b in twin.buckets([len(s) for s in dev], 32, False, rng):
                x, lengths, y = collate(dev, b)
                logits = ema(x, lengths)
                nll += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=twin.PAD, reduction="sum").item()
                chars += int((y != twin.PAD).sum())
        twin.epoch_line("names-lm", epoch, {"nll": nll / chars})
        clock.mark("eval")
    clock.report(train_examples=len(train), epochs=a.epochs)


if __name__ == "__main__":
    main()
