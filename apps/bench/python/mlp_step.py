"""PyTorch side of `pnpm bench mlp-step`: the same training step as the tfjs workload.

An MLP 784-100-100-10 (ReLU) trained directly: forward on a batch of 128 random inputs ->
cross-entropy -> backward -> torch.optim.Adam (lr 1e-3). Prints one JSON line:
{"torch_ms": median, "torch_cpu_ms", "torch_version", "threads", "blas"}.
"""
import json
import sys

import torch
import torch.nn.functional as F

from common import blas_in_use, median_ms


def main(steps: int, warmup: int, threads: int) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    net = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(), torch.nn.Linear(100, 100), torch.nn.ReLU(),
                              torch.nn.Linear(100, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(128, 784)
    y = torch.arange(128) % 10

    def step() -> float:
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    ms, cpu_ms = median_ms(step, steps, warmup)
    print(json.dumps({"torch_ms": round(ms, 2), "torch_cpu_ms": round(cpu_ms, 2), "torch_version": torch.__version__,
                      "threads": threads, "blas": blas_in_use()}))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]) if a else 20, int(a[1]) if len(a) > 1 else 3, int(a[2]) if len(a) > 2 else torch.get_num_threads())
