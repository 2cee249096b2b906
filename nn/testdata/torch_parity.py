"""Runs seqkit's recurrent layers' twins in PyTorch for nn's parity test.

Usage: torch_parity.py DIR. For every DIR/case_N.safetensors (written by
TestTorchParity) it builds torch.nn.RNN/LSTM/GRU from the case's metadata and
weights, runs the packed input, and writes DIR/result_N.safetensors with the
outputs, final states and the gradients of the loss
    sum(out * w_out) + sum(h_n * w_h) + sum(c_n * w_c)
with respect to every weight (grad.NAME), the input and the initial states.
Only the standard library, torch and numpy are used; safetensors is read and
written by hand (it is 8 bytes of header length, a JSON header and raw data).
"""
import glob
import json
import os
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F64": torch.float64}


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[b:e]), dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out, meta


def save(path, tensors):
    header, chunks, off = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def run(case_path):
    t, meta = load(case_path)
    cell = meta["cell"]
    kw = dict(input_size=int(meta["input_size"]), hidden_size=int(meta["hidden_size"]),
              num_layers=int(meta["layers"]), bidirectional=meta["bidirectional"] == "true")
    if cell == "lstm":
        mod = torch.nn.LSTM(**kw)
    elif cell == "gru":
        mod = torch.nn.GRU(**kw)
    else:
        mod = torch.nn.RNN(nonlinearity=cell.split("_")[1], **kw)
    with torch.no_grad():
        for name, p in mod.named_parameters():
            p.copy_(t["rnn." + name])
    x = t["x"].requires_grad_()
    h0 = t["h0"].requires_grad_()
    lengths = t["lengths"].to(torch.int64)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    if cell == "lstm":
        c0 = t["c0"].requires_grad_()
        out, (hn, cn) = mod(packed, (h0, c0))
    else:
        out, hn = mod(packed, h0)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=x.shape[0])
    loss = (out * t["w_out"]).sum() + (hn * t["w_h"]).sum()
    res = {"out": out, "hn": hn}
    if cell == "lstm":
        loss = loss + (cn * t["w_c"]).sum()
        res["cn"] = cn
    loss.backward()
    for name, p in mod.named_parameters():
        res["grad.rnn." + name] = p.grad
    res["grad.x"], res["grad.h0"] = x.grad, h0.grad
    if cell == "lstm":
        res["grad.c0"] = c0.grad
    save(case_path.replace("case_", "result_"), res)


if __name__ == "__main__":
    torch.set_num_threads(1)
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "case_*.safetensors"))):
        run(path)
