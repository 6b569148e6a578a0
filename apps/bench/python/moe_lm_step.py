"""PyTorch side of `pnpm bench moe-lm-step`: the same training step as the tfjs workload.

HyperRouter's mixture-of-experts character LM, written with torch ops after packages/adapters
(moe/lm.ts, moe/layer.ts, moe/routers/hyperrouter.ts, moe/trainer.ts) and core's TransformerEncoder
(nets/transformer.ts, ops/attention.ts), every weight in tfjs's [in, out] layout:

  h = E[ids] + P[:T]                                      vocabulary 27, d 256, T 128, learned positions
  per block (4): h += proj(causal 8-head attention(qkv(LN1(h))))     pre-LN, eps 1e-5, masked_fill -1e9
                 h += MoE(LN2(h))
  MoE(x): theta = fc2(relu(fc1(e)))  reshaped [E, d + 1]   frozen hypernet 256 -> 64 -> 16 * 257, e trains
          W_r = theta[:, :d]^T, b_r = theta[:, d];  z = x W_r + b_r  [M, 16]
          top-k of z (k = 8), gates = softmax over the k kept logits
          the M k (token, slot) pairs sorted by expert (one sort of the flat ids); one index_select of the
          tokens; per expert e: relu(x_e W1_e + b1_e) W2_e + b2_e (hidden 128), times its gates;
          one index_add_ of all gated outputs back into the token rows
  logits = head(LN(h));  cross-entropy, mean over all B T positions;  backward;
  clip_grad_norm_(0.25);  Adam (lr 1e-3) on everything but the hypernetworks' fc1 / fc2.

The expert ids are read synchronously (the per-expert counts with .tolist()): no planning pass.
Weights (the frozen hypernetworks too), the batch, the head count and k come from the
.safetensors file the tfjs side wrote (read with numpy: an 8-byte length, a JSON header, raw
little-endian tensors). Usage:

  moe_lm_step.py check FILE                    -> {"torch_loss0": first step's loss}
  moe_lm_step.py STEPS WARMUP THREADS FILE     -> {"torch_ms", "torch_cpu_ms", ...}
"""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from common import blas_in_use, median_ms, read_safetensors

LN_EPS = 1e-5
LR = 1e-3
CLIP = 0.25


def frozen(name):
    """The hypernetworks of HyperRouter are frozen; their input embedding trains."""
    return ".hyperrouter.fc1." in name or ".hyperrouter.fc2." in name


def build(path):
    t = read_safetensors(path)
    inputs = t.pop("batch.inputs").long()
    targets = t.pop("batch.targets").long()
    heads, k = t.pop("config.heads_k").tolist()
    p = {name: v.requires_grad_(not frozen(name)) for name, v in t.items()}
    n, T = inputs.shape
    vocab, d = p["embedding.weight"].shape
    experts = p["blocks.0.mlp.experts.fc1.weight"].shape[0]
    blocks = 1 + max(int(name.split(".")[1]) for name in p if name.startswith("blocks."))
    dh = d // heads
    m = n * T
    keep = torch.ones(T, T, dtype=torch.bool).tril()

    def lin(x, name):
        w, bias = p[f"{name}.weight"], p[f"{name}.bias"]
        return torch.addmm(bias, x.reshape(-1, w.shape[0]), w).view(*x.shape[:-1], w.shape[1])

    def ln(x, name):
        return F.layer_norm(x, (d,), p[f"{name}.weight"], p[f"{name}.bias"], LN_EPS)

    def attention(x):
        q, kk, v = x.chunk(3, -1)
        split = lambda a: a.view(n, T, heads, dh).transpose(1, 2)  # noqa: E731
        scores = (split(q) @ split(kk).transpose(2, 3)) * (1 / math.sqrt(dh))
        probs = torch.softmax(scores.masked_fill(~keep, -1e9), -1)
        return (probs @ split(v)).transpose(1, 2).reshape(n, T, d)

    def router(b):
        r = f"moe.{b}.hyperrouter"
        hid = F.relu(p[f"{r}.embedding"] @ p[f"{r}.fc1.weight"] + p[f"{r}.fc1.bias"])
        theta = (hid @ p[f"{r}.fc2.weight"] + p[f"{r}.fc2.bias"]).view(experts, d + 1)
        return theta[:, :d].t(), theta[:, d]

    def moe(x, b):
        xf = x.reshape(m, d)
        w_r, b_r = router(b)
        logits = torch.addmm(b_r, xf, w_r)  # [M, E]
        kept, ids = logits.topk(k, dim=1)
        gates = torch.softmax(kept, 1)  # [M, k]
        _, pairs = torch.sort(ids.reshape(-1), stable=True)  # pair m k + j in expert order
        counts = torch.bincount(ids.reshape(-1), minlength=experts).tolist()  # the host read
        token = torch.div(pairs, k, rounding_mode="floor")
        xs = xf.index_select(0, token).split(counts)
        gs = gates.reshape(-1).index_select(0, pairs).unsqueeze(1).split(counts)
        # Each expert's weights as views (unbind: one stack in the backward, not E full-size zero tensors).
        w1, b1, w2, b2 = (
            p[f"blocks.{b}.mlp.experts.{w}"].unbind(0) for w in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")
        )
        outs = [
            torch.addmm(b2[e], F.relu(torch.addmm(b1[e], xs[e], w1[e])), w2[e]) * gs[e]
            for e in range(experts)
            if counts[e] > 0
        ]
        return xf.new_zeros(m, d).index_add_(0, token, torch.cat(outs)).view(n, T, d)

    def loss_fn():
        h = F.embedding(inputs, p["embedding.weight"]) + p["pos_embedding"][:T]
        for b in range(blocks):
            a = attention(lin(ln(h, f"blocks.{b}.ln1"), f"blocks.{b}.attn.qkv"))
            h = h + lin(a, f"blocks.{b}.attn.proj")
            h = h + moe(ln(h, f"blocks.{b}.ln2"), b)
        logits = lin(ln(h, "norm"), "head")
        return F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))

    trainable = [v for name, v in p.items() if not frozen(name)]
    return trainable, loss_fn, k


def main(argv):
    if argv[0] == "check":
        torch.set_num_threads(1)
        _, loss_fn, _ = build(argv[1])
        with torch.no_grad():
            print(json.dumps({"torch_loss0": loss_fn().item()}))
        return
    steps, warmup, threads, path = int(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    torch.set_num_threads(threads)
    params, loss_fn, k = build(path)
    opt = torch.optim.Adam(params, lr=LR)
    first = []
    parts = []

    def step():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        first.append(loss.item())
        parts.append((t1 - t0, t2 - t1, time.perf_counter() - t2))

    ms, cpu_ms = median_ms(step, steps, warmup)
    timed = parts[-steps:]
    part = lambda i: round(statistics.median(x[i] for x in timed) * 1000, 2)  # noqa: E731
    print(json.dumps({"torch_ms": round(ms, 2), "torch_cpu_ms": round(cpu_ms, 2), "torch_version": torch.__version__,
                      "threads": threads, "blas": blas_in_use(), "torch_loss0": first[0], "k": k,
                      "trainable": sum(v.numel() for v in params),
                      "parts_ms": {"forward": part(0), "backward": part(1), "clip_adam": part(2)}}))


if __name__ == "__main__":
    main(sys.argv[1:])
