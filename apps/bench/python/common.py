"""Shared by the PyTorch halves of the step benchmarks."""
import json
import math
import struct
import statistics
import time

import numpy as np
import torch


def blas_in_use() -> str:
    """Which BLAS this process loaded: Debian's python3-torch calls the system libblas.so.3, the
    unoptimised reference BLAS unless OpenBLAS is installed as its alternative (~40x slower matmuls)."""
    with open('/proc/self/maps') as f:
        libs = {line.split()[-1] for line in f if 'blas' in line}
    return 'openblas' if any('openblas' in lib for lib in libs) else ('reference' if libs else 'unknown')


def median_ms(step, steps: int, warmup: int) -> tuple:
    """Medians of `step()` in ms over `steps` timed calls after `warmup` untimed ones: wall time,
    and CPU time of this process (all threads), which a loaded machine distorts less."""
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(steps):
        c0, t0 = time.process_time(), time.perf_counter()
        step()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def mlp_shapes(sizes):
    """PyTorch Linear shapes (weight [out, in], bias [out]) of an MLP with layer sizes `sizes`, and their sizes."""
    shapes = []
    for i in range(len(sizes) - 1):
        shapes += [(sizes[i + 1], sizes[i]), (sizes[i + 1],)]
    return shapes, [math.prod(s) for s in shapes]


def mlp_forward(x, flat, shapes, numels):
    """The MLP (ReLU between layers) with its weights read from one flat generated vector."""
    import torch
    import torch.nn.functional as F
    ws = [t.reshape(s) for t, s in zip(torch.split(flat, numels), shapes)]
    layers = len(shapes) // 2
    a = x
    for i in range(layers):
        a = F.linear(a, ws[2 * i], ws[2 * i + 1])
        if i < layers - 1:
            a = F.relu(a)
    return a


DTYPES = {"F32": "float32", "I32": "int32", "F64": "float64", "I64": "int64", "U8": "uint8", "BOOL": "bool"}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=np.dtype(DTYPES[e["dtype"]])).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out
