#!/usr/bin/env python3
"""Benchmark (not a test): how long ppuda's GHN-2 takes to predict all parameters of torchvision
ResNet-50 and ResNet-18 on the CPU, for comparison with the TypeScript port.

Each run calls ghn(model) on a fresh copy of the net, in eval mode, exactly as a user would
(GHN.forward with graphs=None, so it builds the graph itself). Inside that one call it times:
  graph_ms  Graph(model, ve_cutoff=50) (includes a forward pass of the net on a 224x224 input,
            which ppuda uses to trace the autograd graph, and the all-pairs shortest paths)
  gnn_ms    the GatedGNN forward (ghn.gnn)
  total_ms  the whole ghn(model) call (graph, parameter mapping, embeddings, GNN, decoders,
            tiling and copying the predicted tensors into the net)
Autograd stays on, as in ppuda's README (ghn(model) cannot run under torch.no_grad(): ppuda's
Graph traces the net's autograd graph). Reports the median over RUNS runs after --warmup runs,
as one JSON line:
  {"resnet50": {"total_ms": .., "graph_ms": .., "gnn_ms": ..}, "resnet18": {...},
   "torch": "1.13.0", "threads": 2, ...}

The GHN is randomly initialised (seed 0, ppuda's CIFAR-10 GHN-2 config) unless --ghn points to a
safetensors file written by ppuda_fixtures.py / convert_ghn_checkpoint.py. Timings do not depend
on the weights.
"""

import argparse
import copy
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ppuda_fixtures as fx  # noqa: E402
from convert_ghn_checkpoint import read_safetensors  # noqa: E402


def load_ghn(pp, path):
    import torch
    if not path:
        return fx.make_ghn(pp)
    tensors, meta = read_safetensors(path)
    if meta.get('format') != 'ppuda-ghn':
        raise SystemExit('error: %s has format %r, expected ppuda-ghn' % (path, meta.get('format')))
    cfg = json.loads(meta['config'])
    cfg['max_shape'] = tuple(cfg['max_shape'])
    ghn = pp.GHN(**cfg).eval()
    ghn.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    return ghn


def bench_net(pp, ghn, net_name, runs, warmup):
    import torch
    import torchvision

    torch.manual_seed(fx.NET_SEED)
    pristine = getattr(torchvision.models, net_name)()
    times = {'total_ms': [], 'graph_ms': [], 'gnn_ms': []}
    current = {}

    graph_cls = pp.nn_module.Graph

    def timed_graph(*args, **kwargs):
        t0 = time.perf_counter()
        g = graph_cls(*args, **kwargs)
        current['graph_ms'] = (time.perf_counter() - t0) * 1e3
        return g

    def gnn_pre(module, inputs):
        current['gnn_t0'] = time.perf_counter()

    def gnn_post(module, inputs, output):
        current['gnn_ms'] = (time.perf_counter() - current['gnn_t0']) * 1e3

    handles = [ghn.gnn.register_forward_pre_hook(gnn_pre), ghn.gnn.register_forward_hook(gnn_post)]
    pp.nn_module.Graph = timed_graph  # the name GHN.forward calls
    try:
        for i in range(warmup + runs):
            model = copy.deepcopy(pristine)
            current.clear()
            t0 = time.perf_counter()
            ghn(model)
            total = (time.perf_counter() - t0) * 1e3
            if i >= warmup:
                times['total_ms'].append(total)
                times['graph_ms'].append(current['graph_ms'])
                times['gnn_ms'].append(current['gnn_ms'])
    finally:
        pp.nn_module.Graph = graph_cls
        for h in handles:
            h.remove()
    return {k: round(statistics.median(v), 1) for k, v in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('runs', nargs='?', type=int, default=10, help='timed runs per net (default 10)')
    p.add_argument('--warmup', type=int, default=1, help='untimed runs first (default 1)')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--ppuda', default=os.environ.get('PPUDA_DIR', '/tmp/ppuda'),
                   help='ppuda source tree or bare git dir (default: $PPUDA_DIR or /tmp/ppuda)')
    p.add_argument('--ghn', help='GHN safetensors (default: random init, seed 0)')
    p.add_argument('--nets', default='resnet50,resnet18')
    a = p.parse_args(argv)
    if a.runs < 1:
        p.error('runs must be >= 1')

    import torch
    torch.set_num_threads(a.threads)
    pp = fx.import_ppuda(a.ppuda)
    ghn = load_ghn(pp, a.ghn)
    result = {}
    for net in [n.strip() for n in a.nets.split(',') if n.strip()]:
        result[net] = bench_net(pp, ghn, net, a.runs, a.warmup)
    with open('/proc/self/maps') as f:  # Debian's torch calls the system libblas.so.3: reference or OpenBLAS
        blas = 'openblas' if 'openblas' in f.read() else 'reference'
    result.update({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas, 'runs': a.runs,
                   'warmup': a.warmup, 'ppuda_commit': pp.commit})
    print(json.dumps(result))


if __name__ == '__main__':
    main()
