#!/usr/bin/env python3
"""ppuda's view of DARTS / DeepNets-1M networks, for testing src/zoo/cellnet.ts.

Writes packages/graph/fixtures/ppuda/cellnets.json (or --out): for a few genotypes, the
ppuda Network (deepnets1m/net.py: stem_type 0, preproc, C_mult 2, one classifier layer, global
pooling, CIFAR-10 input 3x32x32) as ppuda sees it:
  params     named_parameters(): name, PyTorch shape
  nodes      ppuda's Graph (deepnets1m/graph.py): type, parameter name, shape (see ppuda_fixtures.py)
  edges      the real edges [src, dst, 1] (virtual edges follow from them)
  predicted  what ppuda's seeded GHN-2 (the ghn2-cifar10-seed0 fixture) predicts for every
             parameter: norm, mean, the first 8 values (PyTorch layout, float64 statistics)
  logits     the Network's output [2, 10] on those parameters for the input
             x[n, c, h, w] = sin(0.01 * (flat NCHW index) + 0.3 * c)

Run like ppuda_fixtures.py (README.md), from the repository root:
  /usr/bin/python3 packages/graph/scripts/cellnet_fixtures.py --ppuda /tmp/ppuda
"""

import argparse
import contextlib
import copy
import io
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ppuda_fixtures import DEFAULT_OUT, graph_edges, graph_nodes, import_ppuda, make_ghn  # noqa: E402

# a genotype with every op once (a single-state concat in the reduction cell)
ALL_OPS = {
    'normal': [['sep_conv_3x3', 0], ['dil_conv_3x3', 1], ['conv_3x3', 0], ['skip_connect', 2],
               ['max_pool_3x3', 1], ['avg_pool_3x3', 3]],
    'normal_concat': [2, 4],
    'reduce': [['skip_connect', 0], ['sep_conv_5x5', 1], ['conv_5x5', 2], ['max_pool_3x3', 0],
               ['dil_conv_5x5', 1], ['avg_pool_3x3', 3]],
    'reduce_concat': [4]}

CASES = [
    # every op once, two reduction cells (3 cells), a single-state concat in the reduction cell
    {'name': 'all-ops-bn', 'cells': 3, 'channels': 8, 'bn': True, 'genotype': ALL_OPS},
    # the same without batch norm (DeepNets-1M's BN-free split), 4 cells
    {'name': 'all-ops-no-bn', 'cells': 4, 'channels': 8, 'bn': False, 'genotype': ALL_OPS},
    # DARTS (V2) from ppuda/deepnets1m/genotypes.py, 5 cells
    {'name': 'darts', 'cells': 5, 'channels': 8, 'bn': True, 'genotype': {
        'normal': [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1],
                   ['sep_conv_3x3', 1], ['skip_connect', 0], ['skip_connect', 0], ['dil_conv_3x3', 2]],
        'normal_concat': [2, 3, 4, 5],
        'reduce': [['max_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1],
                   ['max_pool_3x3', 0], ['skip_connect', 2], ['skip_connect', 2], ['max_pool_3x3', 1]],
        'reduce_concat': [2, 3, 4, 5]}},
]


def stats(p):
    t = p.detach().double().flatten()
    return {'norm': t.norm().item(), 'mean': t.mean().item(), 'first': t[:8].tolist()}


def record(pp, ghn, case):
    import torch
    from ppuda.deepnets1m.genotypes import Genotype
    from ppuda.deepnets1m.net import Network
    g = case['genotype']
    genotype = Genotype(normal=[tuple(e) for e in g['normal']], normal_concat=g['normal_concat'],
                        reduce=[tuple(e) for e in g['reduce']], reduce_concat=g['reduce_concat'])
    torch.manual_seed(1)
    net = Network(C=case['channels'], num_classes=10, genotype=genotype, n_cells=case['cells'], ks=3,
                  is_imagenet_input=False, stem_pool=False, stem_type=0,
                  norm='bn' if case['bn'] else None, preproc=True, C_mult=2, fc_layers=0, glob_avg=True)
    graph = pp.Graph(copy.deepcopy(net), ve_cutoff=1)
    nodes = [{k: n[k] for k in ('type', 'name', 'shape')} for n in graph_nodes(pp, graph)]
    edges = [e for e in graph_edges(graph) if e[2] == 1]
    with contextlib.redirect_stdout(io.StringIO()):
        model = ghn(copy.deepcopy(net))
    # the net's forward on the predicted parameters (BN with batch statistics: norm 'bn' keeps no
    # running stats) for a fixed input x[n, c, h, w] = sin(0.01 * flat index + 0.3 * c)
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.float64).reshape(2, 3, 32, 32)
    x = torch.sin(0.01 * x + 0.3 * torch.arange(3, dtype=torch.float64).view(1, 3, 1, 1)).float()
    with torch.no_grad():
        logits = model(x)[0]
    out = {'name': case['name'], 'cells': case['cells'], 'channels': case['channels'], 'bn': case['bn'],
           'genotype': g,
           'params': [{'name': n, 'shape': list(p.shape)} for n, p in net.named_parameters()],
           'nodes': nodes, 'edges': edges,
           'predicted': {n: stats(p) for n, p in model.named_parameters()},
           'logits': logits.double().tolist()}
    print('%s: %d params tensors (%d values), %d nodes, %d real edges'
          % (case['name'], len(out['params']), sum(p.numel() for p in net.parameters()), len(nodes), len(edges)))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--ppuda', default=os.environ.get('PPUDA_DIR', '/tmp/ppuda'))
    p.add_argument('--out', default=DEFAULT_OUT)
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    pp = import_ppuda(a.ppuda)
    ghn = make_ghn(pp)
    cases = [record(pp, ghn, c) for c in CASES]
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, 'cellnets.json'), 'w') as f:
        json.dump({'ppuda_commit': pp.commit, 'torch_version': torch.__version__,
                   'notes': 'written by packages/graph/scripts/cellnet_fixtures.py', 'cases': cases}, f)
        f.write('\n')


if __name__ == '__main__':
    main()
