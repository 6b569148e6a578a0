#!/usr/bin/env python3
"""Reference outputs of hypnettorch's HMLP and ChunkedHMLP, for packages/nets/src/hypnettorch.test.ts.

Run by hand, never by CI or the tests (the fixture it writes is committed):

  /usr/bin/python3 packages/nets/scripts/hypnettorch_fixture.py HYPNETTORCH

HYPNETTORCH is a checkout of https://github.com/chrhenning/hypnettorch (or a bare git dir of it:
its HEAD:hypnettorch/ is exported to a temporary folder). Written with commit
12133c0f6828c0e06f21fd0a2c8d304741b9fd57 (2023-09-07); the commit used is recorded in the fixture.
Default output: packages/nets/src/fixtures/hypnettorch.json (--out to change it).

Python: Debian's system interpreter with python3-torch (1.13) and its numpy; nothing from pip.
hypnettorch's own requirements (torchvision, scipy, pandas, matplotlib, tensorboardX, ...) are
not needed for the two hypernetworks: importing hypnettorch.hnets pulls in only torch and numpy,
except hypnettorch/utils/misc.py, which imports matplotlib (and matplotlib.pyplot) at module
level for plotting helpers this script never calls. When matplotlib is not installed it is
replaced in sys.modules by an empty stub module before the import (see `stub_matplotlib`);
the fixture records which modules were stubbed.

What it does, per case (see CASES): builds hypnettorch's net for the torch shapes of a small
target net (an MLP 3-5-2 or a CNN 5x5x2 -> conv3x3x3 -> dense 2, whose tfjs counterparts the
test builds from @hypernets/core), overwrites every internal parameter with seeded values
(embeddings N(0, 1), weights N(0, 1/fan_in), biases N(0, 0.25); a torch.Generator seeded per
case, so the numbers do not depend on hypnettorch's init), and records
  - the parameters, in hypnettorch's internal_params order, with their meta and PyTorch layout
    (linear weights [out, in]);
  - the condition: ids (cond_id) or external inputs (cond_input);
  - the outputs of forward(..., ret_format='flattened') [B, P] and of ret_format='sequential'
    (per sample, each target tensor flattened row-major in its torch shape).
The values are float32, written with 9 significant digits (exact for float32). The output is
deterministic: running it twice gives identical files.
"""

import argparse
import importlib.util
import io
import json
import math
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import types

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
DEFAULT_OUT = os.path.join(REPO, 'packages', 'nets', 'src', 'fixtures', 'hypnettorch.json')

# Target nets, by the torch shapes of their ParamSpecs (the test checks that the tfjs target
# built from `config` has exactly these, through @hypernets/core's torchShape).
TARGETS = {
    'mlp': {
        'type': 'MLP',
        'config': {'inputSize': 3, 'hiddenSizes': [5], 'outputSize': 2},
        'torch_shapes': [[5, 3], [5], [2, 5], [2]],
    },
    'cnn': {
        'type': 'CNN',
        'config': {'inputShape': [5, 5, 2], 'convs': [{'filters': 3, 'kernel': 3}], 'outputSize': 2},
        # conv1 [cout, cin, kh, kw], its bias, then the dense layer on the 3x3x3 flattened map
        'torch_shapes': [[3, 2, 3, 3], [3], [2, 27], [2]],
    },
}

# kind: 'HMLP' | 'ChunkedHMLP'. Condition: 'ids' (internal condition embeddings, cond_id) or
# 'input' (external conditional input, cond_input; no_cond_weights=True, num_cond_embs=0).
CASES = [
    dict(name='hmlp-ids-mlp', kind='HMLP', target='mlp', cond_in_size=4, layers=[6, 7],
         activation='relu', num_cond_embs=3, ids=[2, 0, 1], seed=1),
    dict(name='hmlp-input-cnn', kind='HMLP', target='cnn', cond_in_size=3, layers=[5],
         activation='elu', input_batch=2, seed=2),
    dict(name='hmlp-linear-input-mlp', kind='HMLP', target='mlp', cond_in_size=2, layers=[],
         activation='relu', input_batch=2, seed=3),
    dict(name='chunked-ids-mlp', kind='ChunkedHMLP', target='mlp', cond_in_size=4, layers=[6],
         activation='relu', num_cond_embs=3, ids=[0, 1, 2], chunk_size=7, chunk_emb_size=3,
         cond_chunk_embs=False, seed=4),
    dict(name='chunked-ids-percond-cnn', kind='ChunkedHMLP', target='cnn', cond_in_size=3, layers=[5, 4],
         activation='elu', num_cond_embs=2, ids=[1, 0], chunk_size=10, chunk_emb_size=2,
         cond_chunk_embs=True, seed=5),
    dict(name='chunked-input-mlp', kind='ChunkedHMLP', target='mlp', cond_in_size=2, layers=[4],
         activation='relu', input_batch=3, chunk_size=9, chunk_emb_size=3, cond_chunk_embs=False,
         seed=6),
]


def stub_matplotlib():
    """hypnettorch/utils/misc.py imports matplotlib at module level (plotting only): stub it when absent."""
    if importlib.util.find_spec('matplotlib') is not None:
        return []
    plt = types.ModuleType('matplotlib.pyplot')
    mpl = types.ModuleType('matplotlib')
    mpl.pyplot = plt
    sys.modules['matplotlib'] = mpl
    sys.modules['matplotlib.pyplot'] = plt
    return ['matplotlib']


def git(args):
    return subprocess.run(['git'] + args, check=True, capture_output=True, text=True).stdout.strip()


def resolve(path):
    """(folder to put on sys.path, commit or None). A bare git dir's HEAD:hypnettorch/ is exported."""
    path = os.path.abspath(path)
    if os.path.isfile(os.path.join(path, 'hypnettorch', 'hnets', 'mlp_hnet.py')):
        try:
            commit = git(['-C', path, 'rev-parse', 'HEAD'])
        except (subprocess.CalledProcessError, FileNotFoundError):
            commit = None
        return path, commit
    if os.path.isfile(os.path.join(path, 'HEAD')) and os.path.isdir(os.path.join(path, 'objects')):
        commit = git(['--git-dir', path, 'rev-parse', 'HEAD'])
        dst = tempfile.mkdtemp(prefix='hypnettorch-%s-' % commit[:8])
        tar = subprocess.run(['git', '--git-dir', path, 'archive', '--format=tar', commit, 'hypnettorch'],
                             check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as t:
            t.extractall(dst)
        return dst, commit
    raise SystemExit('error: %s is neither a hypnettorch checkout (with hypnettorch/hnets/mlp_hnet.py) '
                     'nor a bare git directory; get one with\n  git clone https://github.com/chrhenning/hypnettorch'
                     % path)


def f32(values):
    """Float32 values → Python floats with 9 significant digits (round-trips float32 exactly)."""
    return [float('%.9g' % v) for v in values]


def build(case, torch, HMLP, ChunkedHMLP):
    act = {'relu': torch.nn.ReLU(), 'elu': torch.nn.ELU()}[case['activation']]
    shapes = TARGETS[case['target']]['torch_shapes']
    ids_mode = 'ids' in case
    common = dict(uncond_in_size=0, cond_in_size=case['cond_in_size'], layers=case['layers'], verbose=False,
                  activation_fn=act, use_bias=True, no_uncond_weights=False,
                  no_cond_weights=not ids_mode, num_cond_embs=case['num_cond_embs'] if ids_mode else 0)
    if case['kind'] == 'HMLP':
        return HMLP(shapes, **common)
    return ChunkedHMLP(shapes, chunk_size=case['chunk_size'], chunk_emb_size=case['chunk_emb_size'],
                       cond_chunk_embs=case['cond_chunk_embs'], **common)


def set_params(net, case, torch):
    """Seeded values into every internal parameter; returns them, named, in internal_params order."""
    g = torch.Generator().manual_seed(case['seed'])
    by_index = {m['index']: m for m in net.param_shapes_meta if m['index'] >= 0}
    n_fc = sum(1 for m in by_index.values() if m['name'] == 'weight')
    fc = 0
    cond_emb = 0
    chunk_emb = 0
    out = []
    with torch.no_grad():
        for i, p in enumerate(net.internal_params):
            meta = by_index[i]
            shape = list(p.shape)
            if meta['name'] == 'embedding' and meta.get('info') == 'chunk embeddings':
                name = 'chunk_emb' if not case.get('cond_chunk_embs') else 'chunk_emb.%d' % chunk_emb
                chunk_emb += 1
                v = torch.randn(shape, generator=g)
            elif meta['name'] == 'embedding':
                name = 'cond_emb.%d' % cond_emb
                cond_emb += 1
                v = torch.randn(shape, generator=g)
            elif meta['name'] == 'weight':
                fc += 1
                name = ('out' if fc == n_fc else 'fc%d' % fc) + '.weight'
                v = torch.randn(shape, generator=g) / math.sqrt(shape[1])
            elif meta['name'] == 'bias':
                name = ('out' if fc == n_fc else 'fc%d' % fc) + '.bias'
                v = torch.randn(shape, generator=g) * 0.5
            else:
                raise SystemExit('unexpected parameter %r in case %s' % (meta, case['name']))
            p.copy_(v)
            out.append({'name': name, 'meta': {k: meta[k] for k in ('name', 'layer', 'info') if k in meta},
                        'shape': shape, 'values': f32(p.detach().reshape(-1).tolist())})
    return out


def run_case(case, torch, HMLP, ChunkedHMLP):
    net = build(case, torch, HMLP, ChunkedHMLP)
    params = set_params(net, case, torch)
    g = torch.Generator().manual_seed(1000 + case['seed'])
    if 'ids' in case:
        kw = {'cond_id': list(case['ids'])}
        condition = {'ids': list(case['ids'])}
    else:
        x = torch.randn([case['input_batch'], case['cond_in_size']], generator=g)
        kw = {'cond_input': x}
        condition = {'input': [f32(row) for row in x.tolist()]}
    with torch.no_grad():
        flat = net.forward(ret_format='flattened', **kw)
        seq = net.forward(ret_format='sequential', **kw)
    rec = {k: v for k, v in case.items() if k not in ('ids', 'input_batch')}
    rec.update({
        'num_outputs': int(net.num_outputs),
        'num_chunks': int(net.num_chunks) if case['kind'] == 'ChunkedHMLP' else None,
        # What the first layer of the trunk reads, in order: hypnettorch's HMLP concatenates
        # [uncond_input, cond_input], and ChunkedHMLP passes the chunk embeddings as uncond_input.
        'trunk_input': ['chunk_emb', 'cond'] if case['kind'] == 'ChunkedHMLP' else ['cond'],
        'params': params,
        'condition': condition,
        'flat': [f32(row) for row in flat.tolist()],
        'tensors': [[f32(t.reshape(-1).tolist()) for t in sample] for sample in seq],
    })
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('hypnettorch', help='a hypnettorch checkout (or bare git dir)')
    ap.add_argument('--out', default=DEFAULT_OUT)
    a = ap.parse_args()
    src, commit = resolve(a.hypnettorch)
    stubbed = stub_matplotlib()
    import numpy
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, src)
    from hypnettorch.hnets.mlp_hnet import HMLP
    from hypnettorch.hnets.chunked_mlp_hnet import ChunkedHMLP

    fixture = {
        'about': 'hypnettorch HMLP / ChunkedHMLP outputs for fixed weights; written by '
                 'packages/nets/scripts/hypnettorch_fixture.py, read by packages/nets/src/hypnettorch.test.ts',
        'hypnettorch_commit': commit,
        'torch_version': torch.__version__,
        'numpy_version': numpy.__version__,
        'python_version': platform.python_version(),
        'stubbed_modules': stubbed,
        'layout': 'PyTorch: linear weights [out, in], conv kernels [cout, cin, kh, kw]; every tensor '
                  'flattened row-major in that shape',
        'targets': TARGETS,
        'cases': [run_case(c, torch, HMLP, ChunkedHMLP) for c in CASES],
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    text = json.dumps(fixture, separators=(',', ':')) + '\n'
    tmp = a.out + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, a.out)
    print('wrote %s (%d bytes, %d cases, hypnettorch %s, torch %s%s)' % (
        os.path.relpath(a.out, REPO), len(text), len(CASES), commit, torch.__version__,
        ', stubbed ' + ', '.join(stubbed) if stubbed else ''))


if __name__ == '__main__':
    main()
