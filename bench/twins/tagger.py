"""The BiLSTM-CRF tagger of the atis-joint and conll2000-chunk twins, as a
PyTorch user writes it: word embeddings beside a character BiLSTM's final
states (and a feature embedding, CoNLL's POS), dropout, a BiLSTM over packed
sequences, dropout, a linear layer to tag scores, a linear-chain CRF (batched
forward algorithm, Viterbi with the BIO scheme's allowed transitions), and for
the joint recipe an attention-pooled sentence label."""

import random

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

import twin

NEG = -1e4


class CRF(nn.Module):
    def __init__(self, tags):
        super().__init__()
        self.trans = nn.Parameter(torch.empty(tags, tags).uniform_(-0.1, 0.1))  # [from, to]
        self.start = nn.Parameter(torch.empty(tags).uniform_(-0.1, 0.1))
        self.end = nn.Parameter(torch.empty(tags).uniform_(-0.1, 0.1))

    def nll(self, em, tags, mask):
        """Summed negative log-likelihood over the batch, divided by the tokens.
        em [T, B, C], tags [T, B], mask [T, B] bool."""
        T, B, _ = em.shape
        idx = torch.arange(B)
        score = self.start[tags[0]] + em[0, idx, tags[0]]
        alpha = self.start + em[0]  # [B, C]
        for t in range(1, T):
            m = mask[t]
            step = self.trans[tags[t - 1], tags[t]] + em[t, idx, tags[t]]
            score = score + step * m
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.trans + em[t].unsqueeze(1), dim=1)
            alpha = torch.where(m.unsqueeze(1), nxt, alpha)
        last = tags.gather(0, (mask.sum(0) - 1).unsqueeze(0)).squeeze(0)
        score = score + self.end[last]
        logz = torch.logsumexp(alpha + self.end, dim=1)
        return (logz - score).sum() / mask.sum()

    def decode(self, em, mask, allowed):
        """Viterbi; allowed is (trans [C, C], start [C], end [C]) of 0 or NEG."""
        T, B, C = em.shape
        trans = self.trans + allowed[0]
        score = self.start + allowed[1] + em[0]
        back = []
        for t in range(1, T):
            s, i = (score.unsqueeze(2) + trans).max(dim=1)
            s = s + em[t]
            m = mask[t].unsqueeze(1)
            score = torch.where(m, s, score)
            back.append(torch.where(m, i, torch.arange(C).expand(B, C)))
        score = score + self.end + allowed[2]
        best = score.argmax(1)
        paths = [best]
        for i in reversed(back):
            best = i.gather(1, best.unsqueeze(1)).squeeze(1)
            paths.append(best)
        paths.reverse()
        out = torch.stack(paths)  # [T, B]
        lengths = mask.sum(0).tolist()
        return [out[:n, b].tolist() for b, n in enumerate(lengths)]


def bio_allowed(tags):
    """The BIO scheme's transitions: I-x only after B-x or I-x, never first."""
    C = len(tags)
    trans, start, end = torch.zeros(C, C), torch.zeros(C), torch.zeros(C)
    for j, t in enumerate(tags):
        if t.startswith("I-"):
            start[j] = NEG
            for i, f in enumerate(tags):
                if f[2:] != t[2:] or f[:2] not in ("B-", "I-"):
                    trans[i, j] = NEG
    return trans, start, end


def spans(tags):
    out, cur = set(), None
    for i, t in enumerate(tags + ["O"]):
        if cur and not (t.startswith("I-") and t[2:] == cur[0]):
            out.add((cur[0], cur[1], i))
            cur = None
        if t.startswith("B-") or (t.startswith("I-") and cur is None):
            cur = (t[2:], i)
    return out


def f1(golds, preds):
    tp = fp = fn = 0
    for g, p in zip(golds, preds):
        gs, ps = spans(g), spans(p)
        tp += len(gs & ps)
        fp += len(ps - gs)
        fn += len(gs - ps)
    return 100 * 2 * tp / max(2 * tp + fp + fn, 1)


class Tagger(nn.Module):
    def __init__(self, words, chars, feats, tags, labels, emb, hidden, feat_emb=20, char_emb=25, char_hidden=25):
        super().__init__()
        self.emb = nn.Embedding(words, emb, padding_idx=twin.PAD)
        self.cemb = nn.Embedding(chars, char_emb, padding_idx=twin.PAD)
        self.crnn = nn.LSTM(char_emb, char_hidden, bidirectional=True)
        self.femb = nn.Embedding(feats, feat_emb, padding_idx=twin.PAD) if feats else None
        size = emb + 2 * char_hidden + (feat_emb if feats else 0)
        self.drop = nn.Dropout(0.5)
        self.rnn = nn.LSTM(size, hidden, bidirectional=True)
        self.out = nn.Linear(2 * hidden, tags)
        self.crf = CRF(tags)
        if labels:
            a = hidden + 1  # d/2+1 for d = 2·hidden, as seqkit's attention pooling
            self.att = nn.Linear(2 * hidden, a)
            self.v = nn.Parameter(torch.empty(a).uniform_(-a ** -0.5, a ** -0.5))
            self.label = nn.Linear(2 * hidden, labels)

    def chars(self, words, T, B):
        """Final forward and backward states of the character BiLSTM for every
        word, [T, B, 2·char_hidden]; words holds (t, b, char ids)."""
        seqs = [torch.tensor(c) for _, _, c in words]
        lengths = torch.tensor([len(c) for c in seqs])
        x = self.cemb(pad_sequence(seqs, padding_value=twin.PAD))
        _, (h, _) = self.crnn(pack_padded_sequence(x, lengths, enforce_sorted=False))
        feats = torch.cat([h[0], h[1]], dim=1)
        out = torch.zeros(T, B, feats.shape[1])
        t = torch.tensor([w[0] for w in words])
        b = torch.tensor([w[1] for w in words])
        return out.index_put((t, b), feats)

    def forward(self, batch):
        ids, lengths, words, feats = batch["ids"], batch["lengths"], batch["words"], batch.get("feats")
        T, B = ids.shape
        parts = [self.emb(ids), self.chars(words, T, B)]
        if self.femb is not None:
            parts.append(self.femb(feats))
        x = self.drop(torch.cat(parts, dim=2))
        h, _ = self.rnn(pack_padded_sequence(x, lengths, enforce_sorted=False))
        h, _ = pad_packed_sequence(h, total_length=T)
        h = self.drop(h)
        em = self.out(h)
        logits = None
        if hasattr(self, "label"):
            u = torch.tanh(self.att(h)) @ self.v  # [T, B]
            u = u.masked_fill(~batch["mask"], float("-inf"))
            w = torch.softmax(u, dim=0).unsqueeze(2)
            logits = self.label((w * h).sum(0))
        return em, logits


def collate(examples, cvocab):
    """examples: dicts of ids, char ids per word, feats, tags, label."""
    ids = pad_sequence([torch.tensor(e["ids"]) for e in examples], padding_value=twin.PAD)
    lengths = torch.tensor([len(e["ids"]) for e in examples])
    T, B = ids.shape
    mask = torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)
    words = [(t, b, c) for b, e in enumerate(examples) for t, c in enumerate(e["chars"])]
    out = {"ids": ids, "lengths": lengths, "mask": mask, "words": words,
           "tags": pad_sequence([torch.tensor(e["tags"]) for e in examples], padding_value=0)}
    if examples[0].get("feats") is not None:
        out["feats"] = pad_sequence([torch.tensor(e["feats"]) for e in examples], padding_value=twin.PAD)
    if examples[0].get("label") is not None:
        out["label"] = torch.tensor([e["label"] for e in examples])
    return out


def encode(sents, vocab, cvocab, fvocab, tvocab, lvocab):
    out = []
    for s in sents:
        e = {"ids": vocab.encode(s["words"]), "chars": [cvocab.encode(list(w)) or [twin.UNK] for w in s["words"]],
             "tags": [tvocab.stoi.get(t, 0) for t in s["tags"]], "gold": s["tags"]}
        if fvocab is not None:
            e["feats"] = fvocab.encode(s["feats"])
        if lvocab is not None:
            e["label"] = lvocab.stoi.get(s["label"], -100)
        out.append(e)
    return out


def run(name, a, clock, train_s, dev_s, batch, emb, hidden, opt_fn, feats, label_weight=1.0):
    """Builds the vocabularies, trains a.epochs epochs, evaluates dev after each."""
    vocab = twin.Vocab([s["words"] for s in train_s])
    cvocab = twin.Vocab([list(w) for s in train_s for w in s["words"]])
    fvocab = twin.Vocab([s["feats"] for s in train_s]) if feats else None
    tvocab = twin.Vocab([s["tags"] for s in train_s], specials=False)
    lvocab = twin.Vocab([[s["label"]] for s in train_s], specials=False) if "label" in train_s[0] else None
    train = encode(train_s, vocab, cvocab, fvocab, tvocab, lvocab)
    dev = encode(dev_s, vocab, cvocab, fvocab, tvocab, lvocab)
    clock.mark("data")
    model = Tagger(len(vocab), len(cvocab), len(fvocab) if fvocab else 0, len(tvocab), len(lvocab) if lvocab else 0, emb, hidden)
    opt = opt_fn(model.parameters())
    allowed = bio_allowed(tvocab.itos)
    rng = random.Random(a.seed)
    ce = nn.CrossEntropyLoss()
    for epoch in range(1, a.epochs + 1):
        model.train()
        order = twin.buckets([len(e["ids"]) for e in train], batch, True, rng)
        loader = torch.utils.data.DataLoader(order, batch_size=None, collate_fn=lambda b: collate([train[i] for i in b], cvocab))
        for n, bt in enumerate(loader):
            if a.max_batches and n >= a.max_batches:
                break
            opt.zero_grad()
            em, logits = model(bt)
            loss = model.crf.nll(em, bt["tags"], bt["mask"])
            if logits is not None:
                loss = loss + label_weight * ce(logits, bt["label"])
            loss.backward()
            twin.clip(model.parameters(), 5)
            opt.step()
        clock.mark("train")
        model.eval()
        golds, preds, right = [], [], 0
        with torch.no_grad():
            order = twin.buckets([len(e["ids"]) for e in dev], batch, False, rng)
            for b in order:
                bt = collate([dev[i] for i in b], cvocab)
                em, logits = model(bt)
                for i, p in zip(b, model.crf.decode(em, bt["mask"], allowed)):
                    golds.append(dev[i]["gold"])
                    preds.append([tvocab.itos[x] for x in p])
                if logits is not None:
                    right += (logits.argmax(1) == bt["label"]).sum().item()
        metrics = {"f1": f1(golds, preds)}
        if lvocab is not None:
            metrics["intent_accuracy"] = 100 * right / len(dev)
        twin.epoch_line(name, epoch, metrics)
        clock.mark("eval")
    clock.report(train_examples=len(train), epochs=a.epochs)
