"""PyTorch side of `pnpm bench hyperformer-step`: the same training step as the tfjs workload.

HyperFormer++ on the frozen Universal Sentence Encoder lite, written with torch.nn.functional ops
after packages/adapters (backbone/use-lite.ts, methods/hyperformer.ts, adapter.ts, heads.ts,
trainer.ts), every weight in tfjs's [in, out] layout:

  c = [e_task; e_layer; e_block] per site (4 sites)      embeddings 64 -> [4, 192]
  h = LN_1e-6(W2 relu(W1 c + b1) + b2)                    projector 192 -> 128 -> 64
  theta_site = G h + g                                    64 -> 17,936: down [512,16]+16, up [16,512]+512, gamma, beta
  adapter(y) = y + LN_1e-5,gamma,beta(up(gelu_tanh(down(y))))
  x0 = (2 E[ids] + timing) m;  per layer: LN -> qkv -> 4-head attention (padding keys masked) ->
  out -> adapter -> + residual (layer 0: (x W_res + b) m) -> LN -> FFN relu, masked -> adapter,
  masked -> + residual;  masked mean pool;  tanh dense;  l2 normalise;  linear head 512 -> 2;
  cross-entropy with label smoothing 0.1;  backward;  Adam (lr 3e-4) on the hypernetwork and head.

Weights, the batch and the encoder's constants come from the .safetensors file the tfjs side wrote
(read with numpy: an 8-byte length, a JSON header, raw little-endian tensors). Usage:

  hyperformer_step.py check FILE                    -> {"torch_loss0": first step's loss}
  hyperformer_step.py STEPS WARMUP THREADS FILE     -> {"torch_ms", "torch_cpu_ms", ...}
"""
import json
import sys

import torch
import torch.nn.functional as F

from common import blas_in_use, median_ms, read_safetensors

SITES = [("layer0.attn", 0, 1), ("layer0.ffn", 0, 0), ("layer1.attn", 1, 1), ("layer1.ffn", 1, 0)]  # name, layer, block
WIDTH, BOTTLENECK, HEADS = 512, 16, 4


def build(path):
    t = read_safetensors(path)
    bb = {k[len("backbone."):]: v for k, v in t.items() if k.startswith("backbone.")}
    params = {k: v.clone().requires_grad_() for k, v in t.items() if k.startswith(("hyper.", "heads."))}
    ids = t["batch.ids"].long()
    labels = t["batch.labels"].long()
    inv = t["const.inverse_timescales"]
    qscale = t["const.query_scales"].tolist()
    norm_eps, l2_eps = t["const.eps"].tolist()
    n, T = ids.shape
    real = ids >= 0
    m3 = real.float().unsqueeze(2)
    keys = real.view(n, 1, 1, T)
    scaled = torch.arange(T, dtype=torch.float32).unsqueeze(1) * inv.unsqueeze(0)
    timing = torch.cat([torch.sin(scaled), torch.cos(scaled)], 1)
    ids0 = ids.clamp(min=0)
    count = real.float().sum(1, keepdim=True).clamp(min=1)
    p = params

    def generate():
        c = torch.cat(
            [
                p["hyper.task_embeddings"][0:1].expand(len(SITES), -1),
                p["hyper.layer_embeddings"][[s[1] for s in SITES]],
                p["hyper.block_embeddings"][[s[2] for s in SITES]],
            ],
            1,
        )
        mid = F.relu(c @ p["hyper.projector.fc1.weight"] + p["hyper.projector.fc1.bias"])
        z = mid @ p["hyper.projector.fc2.weight"] + p["hyper.projector.fc2.bias"]
        h = F.layer_norm(z, (z.shape[1],), p["hyper.projector.norm.weight"], p["hyper.projector.norm.bias"], 1e-6)
        flat = h @ p["hyper.generator.weight"] + p["hyper.generator.bias"]  # [4, 17936]
        d, r = WIDTH, BOTTLENECK
        sizes = [d * r, r, r * d, d, d, d]
        out = {}
        for i, (name, _, _) in enumerate(SITES):
            dw, db, uw, ub, g, b = torch.split(flat[i], sizes)
            out[name] = (dw.view(d, r), db, uw.view(r, d), ub, g, b)
        return out

    def adapter(y, a):
        dw, db, uw, ub, g, b = a
        z = F.gelu(y @ dw + db, approximate="tanh") @ uw + ub
        return y + F.layer_norm(z, (WIDTH,), g, b, 1e-5)

    def ln(x, name):
        return F.layer_norm(x, (x.shape[-1],), bb[f"{name}.weight"], bb[f"{name}.bias"], norm_eps)

    def lin(x, name):
        return x @ bb[f"{name}.weight"] + bb[f"{name}.bias"]

    def loss_fn():
        ad = generate()
        e = F.embedding(ids0, bb["embeddings"])
        x = (e + e + timing) * m3
        for l in (0, 1):
            pre = f"layer{l}"
            q, k, v = lin(ln(x, f"{pre}.attn.ln"), f"{pre}.attn.qkv").chunk(3, -1)
            d = q.shape[2]
            dh = d // HEADS
            heads = lambda a: a.view(n, T, HEADS, dh).transpose(1, 2)  # noqa: E731
            scores = (heads(q) * qscale[l]) @ heads(k).transpose(2, 3)
            probs = torch.softmax(scores.masked_fill(~keys, -1e9), -1)
            att = (probs @ heads(v)).transpose(1, 2).reshape(n, T, d)
            out = adapter(lin(att, f"{pre}.attn.out"), ad[f"{pre}.attn"])
            residual = lin(x, "layer0.residual") * m3 if l == 0 else x
            x = out + residual
            f = lin(F.relu(lin(ln(x, f"{pre}.ffn.ln"), f"{pre}.ffn.fc1")), f"{pre}.ffn.fc2") * m3
            x = x + adapter(f, ad[f"{pre}.ffn"]) * m3
        pooled = (x * m3).sum(1) / count
        y = torch.tanh(lin(pooled, "pool"))
        emb = y * torch.rsqrt(y.square().sum(1, keepdim=True).clamp(min=l2_eps))
        logits = emb @ p["heads.0.weight"] + p["heads.0.bias"]
        return F.cross_entropy(logits, labels, label_smoothing=0.1)

    return params, loss_fn


def main(argv):
    if argv[0] == "check":
        torch.set_num_threads(1)
        _, loss_fn = build(argv[1])
        print(json.dumps({"torch_loss0": loss_fn().item()}))
        return
    steps, warmup, threads, path = int(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    torch.set_num_threads(threads)
    params, loss_fn = build(path)
    opt = torch.optim.Adam(list(params.values()), lr=3e-4)
    first = []

    def step():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        first.append(loss.item())

    ms, cpu_ms = median_ms(step, steps, warmup)
    trainable = sum(v.numel() for v in params.values())
    print(json.dumps({"torch_ms": round(ms, 2), "torch_cpu_ms": round(cpu_ms, 2), "torch_version": torch.__version__,
                      "threads": threads, "blas": blas_in_use(), "torch_loss0": first[0], "trainable": trainable}))


if __name__ == "__main__":
    main(sys.argv[1:])
