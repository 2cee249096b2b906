"""PyTorch twin of the cmudict-g2p recipe: characters (64) into a BiGRU
encoder (256 per direction); a bridge tanh(W·[last forward; first backward])
starts a GRU decoder (256) over phone embeddings (64), whose outputs attend
over the encoder's with Luong's general score, h~ = tanh(W_c[ctx; h]), then
Linear(256, phones); teacher forcing, cross-entropy per phone; Adam (lr 0.003,
linear warm-up over 200 steps then linear decay over the recipe's 16 epochs),
gradients clipped at 5, batches of 64 bucketed by length. Dev: greedy decoding
(the recipe is timed with --set task.beam=1 too), word error rate against all
of a word's pronunciations. See twin.py for what is timed."""

import random
from collections import defaultdict

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

import twin

H, E, EPOCHS = 256, 64, 16


def read(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith(";;;"):
                continue
            word, phones = line.split(None, 1)
            if word.endswith(")") and "(" in word:
                word = word[:word.rindex("(")]
            out.append((word, phones.split()))
    return out


class G2P(nn.Module):
    def __init__(self, chars, phones):
        super().__init__()
        self.src = nn.Embedding(chars, E, padding_idx=twin.PAD)
        self.enc = nn.GRU(E, H, bidirectional=True)
        self.bridge = nn.Linear(2 * H, H)
        self.tgt = nn.Embedding(phones, E, padding_idx=twin.PAD)
        self.dec = nn.GRU(E, H)
        self.att = nn.Linear(2 * H, H, bias=False)  # general: h · W k
        self.combine = nn.Linear(2 * H + H, H)
        self.out = nn.Linear(H, phones)

    def encode(self, src, lengths):
        out, _ = self.enc(pack_padded_sequence(self.src(src), lengths, enforce_sorted=False))
        out, _ = pad_packed_sequence(out)  # [Ts, B, 2H]
        B = src.shape[1]
        last = out[lengths - 1, torch.arange(B), :H]
        summary = torch.cat([last, out[0, :, H:]], dim=1)
        mask = torch.arange(out.shape[0]).unsqueeze(1) < lengths.unsqueeze(0)  # [Ts, B]
        return out, mask, torch.tanh(self.bridge(summary)).unsqueeze(0)

    def step(self, h, keys, mask):
        """Attention over keys [Ts, B, 2H] from decoder outputs h [Tt, B, H]."""
        k = self.att(keys)  # [Ts, B, H]
        scores = torch.einsum("tbh,sbh->bts", h, k)
        scores = scores.masked_fill(~mask.t().unsqueeze(1), float("-inf"))
        ctx = torch.einsum("bts,sbd->tbd", torch.softmax(scores, dim=2), keys)
        return self.out(torch.tanh(self.combine(torch.cat([ctx, h], dim=2))))

    def forward(self, src, lengths, tgt_in):
        keys, mask, h0 = self.encode(src, lengths)
        h, _ = self.dec(self.tgt(tgt_in), h0)
        return self.step(h, keys, mask)

    @torch.no_grad()
    def greedy(self, src, lengths):
        keys, mask, h = self.encode(src, lengths)
        B = src.shape[1]
        y = torch.full((1, B), twin.BOS)
        limit = int(1.5 * int(lengths.max()) + 5)
        out, done = [], torch.zeros(B, dtype=torch.bool)
        for _ in range(limit):
            o, h = self.dec(self.tgt(y), h)
            y = self.step(o, keys, mask).argmax(2)
            out.append(y[0])
            done |= y[0] == twin.EOS
            if done.all():
                break
        return torch.stack(out).t().tolist()


def main():
    a = twin.args(__doc__)
    clock = twin.Clock("cmudict-g2p")
    train_e, dev_e = read(f"{a.data}/cmudict/cmudict.train.dict"), read(f"{a.data}/cmudict/cmudict.dev.dict")
    chars = twin.Vocab([list(w) for w, _ in train_e])
    phones = twin.Vocab([p for _, p in train_e])
    train = [(chars.encode(list(w)), [twin.BOS] + phones.encode(p) + [twin.EOS]) for w, p in train_e]
    refs = defaultdict(set)
    for w, p in dev_e:
        refs[w].add(" ".join(p))
    dev_words = list(refs)
    dev = [chars.encode(list(w)) for w in dev_words]
    clock.mark("data")
    model = G2P(len(chars), len(phones))
    opt = torch.optim.Adam(model.parameters(), lr=0.003)
    per_epoch = (len(train) + 63) // 64
    total = EPOCHS * per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / 200, max(0.0, (total - s) / max(1, total - 200))))
    loss_fn = nn.CrossEntropyLoss(ignore_index=twin.PAD)
    rng = random.Random(a.seed)

    def collate(b):
        src = [torch.tensor(train[i][0]) for i in b]
        tgt = [torch.tensor(train[i][1]) for i in b]
        return (pad_sequence(src, padding_value=twin.PAD), torch.tensor([len(s) for s in src]),
                pad_sequence(tgt, padding_value=twin.PAD))

    for epoch in range(1, a.epochs + 1):
        model.train()
        order = twin.buckets([len(s) for s, _ in train], 64, True, rng)
        for n, (src, lengths, tgt) in enumerate(torch.utils.data.DataLoader(order, batch_size=None, collate_fn=collate)):
            if a.max_batches and n >= a.max_batches:
                break
            opt.zero_grad()
            logits = model(src, lengths, tgt[:-1])
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt[1:].reshape(-1))
            loss.backward()
            twin.clip(model.parameters(), 5)
            opt.step()
            sched.step()
        clock.mark("train")
        model.eval()
        wrong = 0
        for b in twin.buckets([len(s) for s in dev], 64, False, rng):
            src = [torch.tensor(dev[i]) for i in b]
            out = model.greedy(pad_sequence(src, padding_value=twin.PAD), torch.tensor([len(s) for s in src]))
            for i, ys in zip(b, out):
                ys = ys[:ys.index(twin.EOS)] if twin.EOS in ys else ys
                if " ".join(phones.itos[y] for y in ys) not in refs[dev_words[i]]:
                    wrong += 1
        twin.epoch_line("cmudict-g2p", epoch, {"wer": 100 * wrong / len(dev)})
        clock.mark("eval")
    clock.report(train_examples=len(train), epochs=a.epochs)


if __name__ == "__main__":
    main()
