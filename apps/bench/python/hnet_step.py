"""PyTorch side of `pnpm bench hnet-step`: the same training step as the tfjs workload.

A chunked hypernetwork (task embedding 32, chunk embedding 32, one hidden layer of 100 ReLU
units, chunk size 4000) generates the 89,610 weights of an MLP 784-100-100-10; one step is
generate -> target forward on a batch of 128 random inputs -> cross-entropy -> backward ->
Adam. Prints one JSON line: {"torch_ms": median, "torch_version", "threads"}.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

from common import blas_in_use, median_ms, mlp_forward, mlp_shapes


def main(steps: int, warmup: int, threads: int) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    sizes = [784, 100, 100, 10]
    shapes, numels = mlp_shapes(sizes)
    total = sum(numels)
    chunk, emb, cemb, hidden = 4000, 32, 32, 100
    n_chunks = math.ceil(total / chunk)

    task_emb = torch.randn(emb, requires_grad=True)
    chunk_embs = torch.randn(n_chunks, cemb, requires_grad=True)
    w1 = (torch.randn(emb + cemb, hidden) * math.sqrt(2 / (emb + cemb))).requires_grad_()
    b1 = torch.zeros(hidden, requires_grad=True)
    w2 = (torch.randn(hidden, chunk) * 0.01).requires_grad_()
    b2 = torch.zeros(chunk, requires_grad=True)
    params = [task_emb, chunk_embs, w1, b1, w2, b2]
    opt = torch.optim.Adam(params, lr=1e-3)

    x = torch.randn(128, 784)
    y = torch.arange(128) % 10

    def step() -> float:
        opt.zero_grad()
        inp = torch.cat([task_emb.expand(n_chunks, emb), chunk_embs], dim=1)
        h = F.relu(inp @ w1 + b1)
        flat = (h @ w2 + b2).reshape(-1)[:total]
        a = mlp_forward(x, flat, shapes, numels)
        loss = F.cross_entropy(a, y)
        loss.backward()
        opt.step()
        return loss.item()

    ms, cpu_ms = median_ms(step, steps, warmup)
    print(json.dumps({"torch_ms": round(ms, 2), "torch_cpu_ms": round(cpu_ms, 2), "torch_version": torch.__version__,
                      "threads": threads, "blas": blas_in_use(), "total_weights": total, "chunks": n_chunks}))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]) if a else 30, int(a[1]) if len(a) > 1 else 5, int(a[2]) if len(a) > 2 else torch.get_num_threads())
