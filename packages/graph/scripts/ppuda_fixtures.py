#!/usr/bin/env python3
"""Reference data from ppuda's GHN-2 (facebookresearch/ppuda) for testing the TypeScript port.

Writes into packages/graph/fixtures/ppuda/ (or --out):
  ghn2-cifar10-seed0.safetensors   a randomly initialised GHN-2 with ppuda's CIFAR-10 config
                                    (torch.manual_seed(0) right before the constructor), full
                                    state_dict, ppuda's tensor names, float32
  resnet18.json, resnet50.json     ppuda's graph of the torchvision net (nodes, edges with virtual
                                    edges up to 50), the decoder group key of every parameter and
                                    statistics/samples of every parameter the GHN predicted
  resnet18-embeddings.safetensors  node embeddings [N, 32] at four points of GHN.forward:
  resnet50-embeddings.safetensors  x_embed (embed(node types)), x_shape (after shape_enc),
                                    x_gnn (after gnn), x_ln (after ln)

ppuda is imported from a checkout outside this repository (--ppuda, a source tree or a bare git
directory whose HEAD is exported to a temporary folder). Run with a Python that has torch,
torchvision and networkx (Debian: /usr/bin/python3 + apt packages, see README.md).
matplotlib and einops are stubbed when missing: ppuda imports them at module level but does
not use them for this.
"""

import argparse
import contextlib
import copy
import importlib.util
import io
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from convert_ghn_checkpoint import (config_json, convert, ghn_metadata, read_safetensors, write_atomic,  # noqa: E402
                                    write_safetensors)

DEFAULT_OUT = os.path.normpath(os.path.join(HERE, '..', 'fixtures', 'ppuda'))

# ppuda's GHN-2 for CIFAR-10: `python experiments/train_ghn.py -m 8 -n -v 50 --ln --name ghn2`
# (README.md) with ppuda/config.py's defaults hid=32, max_shape=(2*hid, 2*hid, 11, 11) for CIFAR-10,
# decoder='conv', hypernet='gatedgnn'; -n → weight_norm, -v 50 → ve (and ve_cutoff=50), --ln → layernorm.
GHN2_CIFAR10 = {'max_shape': (64, 64, 11, 11), 'num_classes': 10, 'hypernet': 'gatedgnn', 'decoder': 'conv',
                'weight_norm': True, 've': True, 'layernorm': True, 'hid': 32}
GHN_SEED = 0
NET_SEED = 1
VE_CUTOFF = 50
N_FIRST = 16
N_SAMPLE = 64


# ---------------------------------------------------------------------------------------------
# importing ppuda

def _stub(name, **attrs):
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    mod.__ppuda_fixtures_stub__ = True
    sys.modules[name] = mod
    return mod


def _install_stubs():
    """Stub the modules ppuda imports but does not need here; return the names stubbed."""
    stubbed = []
    if importlib.util.find_spec('matplotlib') is None:
        plt, cm = _stub('matplotlib.pyplot'), _stub('matplotlib.cm')
        _stub('matplotlib', pyplot=plt, cm=cm)
        stubbed.append('matplotlib')
    if importlib.util.find_spec('einops') is None:
        def rearrange(*a, **k):
            raise NotImplementedError('einops is stubbed (only ppuda\'s ViT ops need it)')
        _stub('einops', rearrange=rearrange)
        stubbed.append('einops')
    return stubbed


def _git(args, cwd):
    return subprocess.run(['git'] + args, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def resolve_ppuda(path):
    """Return (source folder, commit or None). A bare git dir's HEAD:ppuda/ is exported to a temp folder."""
    path = os.path.abspath(path)
    if os.path.isfile(os.path.join(path, 'ppuda', 'ghn', 'nn.py')):
        commit = None
        try:
            commit = _git(['rev-parse', 'HEAD'], path)
        except (subprocess.CalledProcessError, FileNotFoundError):
            pass
        return path, commit
    if os.path.isfile(os.path.join(path, 'HEAD')) and os.path.isdir(os.path.join(path, 'objects')):
        commit = _git(['--git-dir', path, 'rev-parse', 'HEAD'], path)
        dst = tempfile.mkdtemp(prefix='ppuda-%s-' % commit[:8])
        # only the python package: the repo's checkpoints are large files that may be absent
        tar = subprocess.run(['git', '--git-dir', path, 'archive', '--format=tar', commit, 'ppuda'],
                             check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as t:
            t.extractall(dst)
        return dst, commit
    raise SystemExit('error: %s is neither a ppuda source tree (with ppuda/ghn/nn.py) nor a bare git directory'
                     % path)


def import_ppuda(path):
    src, commit = resolve_ppuda(path)
    stubbed = _install_stubs()
    sys.path.insert(0, src)
    import ppuda.ghn.nn as ghn_nn
    import ppuda.deepnets1m.graph as graph_mod
    from ppuda.deepnets1m.genotypes import PRIMITIVES_DEEPNETS1M
    from ppuda.utils import capacity
    return types.SimpleNamespace(GHN=ghn_nn.GHN, Graph=graph_mod.Graph, GraphBatch=graph_mod.GraphBatch,
                                 nn_module=ghn_nn, PRIMITIVES=list(PRIMITIVES_DEEPNETS1M), capacity=capacity,
                                 src=src, commit=commit, stubbed=stubbed)


def make_ghn(pp, seed=GHN_SEED, config=GHN2_CIFAR10):
    import torch
    torch.manual_seed(seed)
    return pp.GHN(**config).eval()


def ghn_state_dict_numpy(ghn):
    return {k: v.detach().cpu().float().contiguous().numpy() for k, v in ghn.state_dict().items()}


# ---------------------------------------------------------------------------------------------
# records

def _shape(sz):
    return None if sz is None else [int(s) for s in sz]


def _key(k):
    return None if k is None else [int(s) for s in k]


def graph_nodes(pp, graph, params_map=None):
    """ppuda's nodes in order: type, parameter name (node_info), recorded shape, decoder key."""
    info = {}
    for cell in graph.node_info:
        for node_ind, p_name, name, sz, last_weight, last_bias in cell:
            info[node_ind] = (p_name, name, last_weight, last_bias)
    nodes = []
    for i in range(graph.n_nodes):
        t = pp.PRIMITIVES[int(graph.node_feat[i, 0])]
        p_name, _, last_w, last_b = info.get(i, (None, None, False, False))
        node = {'index': i, 'type': t, 'name': p_name, 'shape': _shape(graph._param_shapes[i]),
                'op': graph._nodes[i]['param_name']}
        if last_w:
            node['last_weight'] = True
        if last_b:
            node['last_bias'] = True
        if params_map is not None:
            node['key'] = _key(params_map[i][1]) if i in params_map else None
        nodes.append(node)
    return nodes


def graph_edges(graph):
    return sorted([int(a), int(b), int(d)] for a, b, d in graph.edges.tolist())


def sample_indices(numel, n=N_SAMPLE):
    # round(k * (numel - 1) / (n - 1)) with exact integer arithmetic (no ties occur for n - 1 = 63)
    return [(2 * k * (numel - 1) + (n - 1)) // (2 * (n - 1)) for k in range(n)]


def param_stats(name, p):
    t = p.detach().double().flatten()
    numel = t.numel()
    idx = sample_indices(numel)
    return {'name': name, 'shape': list(p.shape), 'numel': numel,
            'norm': t.norm().item(), 'mean': t.mean().item(),
            'std': t.std().item() if numel > 1 else 0.0,  # unbiased (torch default), as ppuda prints it
            'min': t.min().item(), 'max': t.max().item(),
            'first': t[:N_FIRST].tolist(), 'sample': t[idx].tolist()}


def param_keys(model, params_map):
    """Decoder group key of every parameter (BN biases share their weight's node and key)."""
    by_param = {}
    for node_ind, (matched, key, w_ind) in params_map.items():
        if w_ind is None:
            continue
        by_param[matched['param_name']] = (node_ind, key, w_ind)
        m = matched['module']
        if matched['is_w'] and len(matched['sz']) == 1 and getattr(m, 'bias', None) is not None:
            bias_name = matched['param_name'][:-len('weight')] + 'bias'
            by_param[bias_name] = (node_ind, key, w_ind)
    out = []
    for name, _ in model.named_parameters():
        node, key, w_ind = by_param.get(name, (None, None, None))
        out.append({'name': name, 'key': _key(key), 'node': node, 'group_index': w_ind})
    return out


def dump_json(path, obj):
    """JSON with one node / edge / parameter per line (readable diffs, modest size)."""
    parts = ['{']
    items = list(obj.items())
    for j, (k, v) in enumerate(items):
        comma = ',' if j < len(items) - 1 else ''
        if isinstance(v, dict):
            rows = ['%s: %s' % (json.dumps(mk), json.dumps(mv, separators=(', ', ': '))) for mk, mv in v.items()]
            parts.append('  %s: {\n    %s\n  }%s' % (json.dumps(k), ',\n    '.join(rows), comma))
        elif isinstance(v, list) and v and isinstance(v[0], (dict, list)):
            rows = [json.dumps(x, separators=(',', ':')) for x in v]
            parts.append('  %s: [\n    %s\n  ]%s' % (json.dumps(k), ',\n    '.join(rows), comma))
        else:
            parts.append('  %s: %s%s' % (json.dumps(k), json.dumps(v, indent=None, separators=(', ', ': ')), comma))
    parts.append('}\n')
    write_atomic(path, '\n'.join(parts).encode('utf-8'))


# ---------------------------------------------------------------------------------------------
# convert_ghn_checkpoint.py round trip

def check_convert(pp, fixture_path):
    """Save the seeded GHN as ppuda checkpoints, convert them, compare with the fixture file."""
    import torch
    ref, ref_meta = read_safetensors(fixture_path)

    def same(path, what):
        t, meta = read_safetensors(path)
        assert sorted(t) == sorted(ref), '%s: tensor names differ' % what
        for k in ref:
            assert t[k].dtype == ref[k].dtype and t[k].shape == ref[k].shape and t[k].tobytes() == ref[k].tobytes(), \
                '%s: tensor %s differs' % (what, k)
        for k in ('format', 'config', 'ppuda_commit', 'seed'):
            assert meta.get(k) == ref_meta.get(k), '%s: metadata %s: %r != %r' % (what, k, meta.get(k), ref_meta.get(k))

    ghn = make_ghn(pp)
    cfg = dict(GHN2_CIFAR10)
    with tempfile.TemporaryDirectory() as tmp:
        # as ppuda's experiments/train_ghn.py saves it (sic 'optimzer'), read back by ppuda's GHN.load
        pt = os.path.join(tmp, 'ghn2.pt')
        torch.save({'state_dict': ghn.state_dict(), 'optimzer': {}, 'epoch': 0, 'config': cfg}, pt)
        loaded = pp.GHN.load(pt, debug_level=0, device='cpu')
        assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), ghn.state_dict().values()))
        out = os.path.join(tmp, 'out.safetensors')
        convert(pt, out, ppuda_commit=pp.commit or 'unknown', seed=GHN_SEED, verbose=False)
        same(out, 'ppuda checkpoint')
        # a bare state_dict: config on the command line, or inferred (weight_norm is not inferable)
        bare = os.path.join(tmp, 'bare.pt')
        torch.save(ghn.state_dict(), bare)
        convert(bare, out, cli_config=json.loads(config_json(cfg)), ppuda_commit=pp.commit or 'unknown',
                seed=GHN_SEED, verbose=False)
        same(out, 'bare state_dict + --config')
        convert(bare, out, cli_config={'weight_norm': True}, infer=True, ppuda_commit=pp.commit or 'unknown',
                seed=GHN_SEED, verbose=False)
        same(out, 'bare state_dict + --infer-config')
        for bad_cfg, infer in (({}, False), (None, False), (dict(cfg, hid=64), False), ({}, True)):
            try:
                convert(bare, out + '.bad', cli_config=bad_cfg, infer=infer, verbose=False)
            except ValueError:
                assert not os.path.exists(out + '.bad')
            else:
                raise AssertionError('convert accepted config %r (infer=%s)' % (bad_cfg, infer))
    print('convert_ghn_checkpoint.py: ppuda .pt and bare state_dict convert to the same tensors and metadata')


# ---------------------------------------------------------------------------------------------
# one network

def record_net(pp, ghn, net_name, out_dir, ghn_file):
    import torch
    import torchvision

    torch.manual_seed(NET_SEED)
    pristine = getattr(torchvision.models, net_name)()  # default: 1000 classes, random init

    # 1. ppuda's graph, as GHN.forward builds it when graphs=None
    graph = pp.Graph(copy.deepcopy(pristine), ve_cutoff=VE_CUTOFF if ghn.ve else 1)

    # 2. decoder group keys (GHN._map_net_params on a fresh graph of a fresh copy)
    model_keys = copy.deepcopy(pristine)
    batch = pp.GraphBatch([pp.Graph(model_keys, ve_cutoff=VE_CUTOFF)]).to_device('cpu')
    mapping, params_map = ghn._map_net_params(batch, model_keys)

    # 3. ghn(model), with hooks that copy the intermediate embeddings; debug_level=1 makes ppuda
    # report the predicted parameter count (and check its own node/parameter matching).
    captured = {}

    def keep(name):
        def hook(module, inputs, output):
            captured[name] = output.detach().clone()
        return hook

    def keep_gnn_inputs(module, inputs):
        captured['gnn_in_edges'] = inputs[1].detach().clone()
        captured['gnn_in_node_graph'] = inputs[2].detach().clone()

    handles = [ghn.embed.register_forward_hook(keep('x_embed')),
               ghn.shape_enc.register_forward_hook(keep('x_shape')),
               ghn.gnn.register_forward_pre_hook(keep_gnn_inputs),
               ghn.gnn.register_forward_hook(keep('x_gnn')),
               ghn.ln.register_forward_hook(keep('x_ln'))]
    model = copy.deepcopy(pristine)
    levels = ghn.debug_level, ghn.shape_enc.debug_level
    ghn.debug_level = ghn.shape_enc.debug_level = 1
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log):
            model = ghn(model)
    finally:
        ghn.debug_level, ghn.shape_enc.debug_level = levels
        for h in handles:
            h.remove()
    log = log.getvalue()
    sys.stdout.write(''.join('  ppuda: ' + line + '\n' for line in log.strip().splitlines()))
    m = re.search(r'number of parameter tensors predicted using GHN: (\d+), total parameters predicted: '
                  r'(\d+) \(([^)]*)\)', log)
    if not m:
        raise RuntimeError('ppuda did not report the predicted parameter count:\n' + log)
    n_tensors_pred, n_params_pred, match = int(m.group(1)), int(m.group(2)), m.group(3)
    n_tensors_true, n_params_true = pp.capacity(model, is_grad=False)

    # the graph ghn(model) used is the one recorded
    edges_used = captured['gnn_in_edges'][:, :3].tolist()
    assert sorted(map(list, edges_used)) == graph_edges(graph), 'ghn(model) used a different graph'
    assert len(captured['x_embed']) == graph.n_nodes

    # 4. the same pieces again, exactly as GHN.forward runs them, from step 2's graph
    with torch.no_grad():
        x = ghn.shape_enc(ghn.embed(batch.node_feat[:, 0]), params_map, predict_class_layers=True)
        x_shape = x.clone()
        x = ghn.gnn(x, batch.edges, batch.node_feat[:, 1])
        x_gnn = x.clone()
        x_ln = ghn.ln(x)
    for name, t in (('x_shape', x_shape), ('x_gnn', x_gnn), ('x_ln', x_ln)):
        if not torch.equal(t, captured[name]):
            raise AssertionError('%s differs between ghn(model) and the re-run (max abs diff %g)'
                                 % (name, (t - captured[name]).abs().max().item()))

    nodes = graph_nodes(pp, graph, params_map)
    edges = graph_edges(graph)
    n_real = sum(1 for e in edges if e[2] == 1)
    keys = param_keys(model_keys, params_map)
    params = [param_stats(n, p) for n, p in model.named_parameters()]
    distinct = sorted({tuple(k['key']) for k in keys if k['key'] is not None})
    meta = {
        'net': 'torchvision.models.%s()' % net_name,
        'net_seed': NET_SEED, 'ghn_seed': GHN_SEED, 'ghn_file': ghn_file,
        'ghn_config': json.loads(config_json(GHN2_CIFAR10)),
        've_cutoff': VE_CUTOFF,
        'ppuda_commit': pp.commit,
        'torch_version': torch.__version__, 'torchvision_version': torchvision.__version__,
        'numpy_version': __import__('numpy').__version__, 'networkx_version': __import__('networkx').__version__,
        'python_version': platform.python_version(),
        'stubbed_modules': pp.stubbed,
        'n_nodes': graph.n_nodes, 'n_edges': len(edges), 'n_real_edges': n_real, 'n_virtual_edges': len(edges) - n_real,
        'ppuda_predicted_tensors': n_tensors_pred, 'ppuda_predicted_params': n_params_pred,
        'ppuda_params_match': match,
        'capacity_tensors': n_tensors_true, 'capacity_params': n_params_true,
        'decoder_keys': [list(k) for k in distinct],
        # without ppuda's wall-clock time, so that regenerating gives identical files
        'ppuda_log': [re.sub(r', time to predict.*$', '', line) for line in log.strip().splitlines()],
        'notes': [
            'nodes: ppuda order (topological); type = PRIMITIVES_DEEPNETS1M[node_feat[i, 0]]; name = the '
            'parameter name in node_info (or max_pool/avg_pool), null for nodes node_info omits; '
            'shape = Graph._param_shapes[i]; op = the autograd function / parameter name ppuda built the '
            'node from; key = the decoder group key of the node (GHN._map_net_params).',
            'edges: Graph.edges rows [src, dst, dist], dist 1 = real edge, > 1 = shortest path length '
            '(virtual edge), sorted.',
            'params: after ghn(model) in eval mode (GHN.forward with graphs=None); statistics in float64 '
            'of the float32 values; std is unbiased; sample[k] = flat[round(k * (numel - 1) / 63)].',
            'keys: per parameter (model.named_parameters() order), node = graph node, group_index = row '
            'in the decoder batch of that key; BN biases share their weight node and key.',
        ],
    }
    record = {'meta': meta, 'nodes': nodes, 'edges': edges, 'keys': keys, 'params': params}
    json_path = os.path.join(out_dir, '%s.json' % net_name)
    dump_json(json_path, record)

    emb = {k: captured[k].float().numpy() for k in ('x_embed', 'x_shape', 'x_gnn', 'x_ln')}
    emb_meta = ghn_metadata(GHN2_CIFAR10, fmt='ppuda-ghn-embeddings', torch_version=torch.__version__,
                            ppuda_commit=pp.commit or 'unknown', seed=str(GHN_SEED), net_seed=str(NET_SEED),
                            net='torchvision.models.%s()' % net_name, ghn_file=ghn_file,
                            description='x_embed = ghn.embed(node_feat[:, 0]); x_shape = ghn.shape_enc(x_embed, '
                                        'params_map); x_gnn = ghn.gnn(x_shape, edges, node_feat[:, 1]); '
                                        'x_ln = ghn.ln(x_gnn); rows in node order of %s.json' % net_name)
    emb_path = os.path.join(out_dir, '%s-embeddings.safetensors' % net_name)
    write_safetensors(emb_path, emb, emb_meta)
    print('%s: %d nodes, %d edges (%d real, %d virtual), %d params tensors, predicted %d params (%s), '
          'keys %s' % (net_name, graph.n_nodes, len(edges), n_real, len(edges) - n_real, len(params),
                       n_params_pred, match, [list(k) for k in distinct]))
    return record


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--ppuda', default=os.environ.get('PPUDA_DIR', '/tmp/ppuda'),
                   help='ppuda source tree or bare git dir (default: $PPUDA_DIR or /tmp/ppuda)')
    p.add_argument('--ppuda-commit', default=os.environ.get('PPUDA_COMMIT'),
                   help='ppuda commit to record when --ppuda is not a git checkout')
    p.add_argument('--out', default=DEFAULT_OUT, help='output folder (default: %(default)s)')
    p.add_argument('--nets', default='resnet18,resnet50', help='torchvision constructors, comma-separated')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--skip-convert-check', action='store_true',
                   help='skip the convert_ghn_checkpoint.py round trip against the GHN fixture')
    a = p.parse_args(argv)

    import torch
    torch.set_num_threads(a.threads)
    pp = import_ppuda(a.ppuda)
    if a.ppuda_commit:
        if pp.commit and pp.commit != a.ppuda_commit:
            raise SystemExit('error: --ppuda-commit %s but %s is at %s' % (a.ppuda_commit, a.ppuda, pp.commit))
        pp.commit = a.ppuda_commit
    if not pp.commit:
        print('warning: ppuda commit unknown (pass --ppuda-commit)', file=sys.stderr)
    print('ppuda %s from %s, torch %s, stubbed: %s' % (pp.commit, pp.src, torch.__version__, pp.stubbed or 'none'))

    os.makedirs(a.out, exist_ok=True)
    ghn = make_ghn(pp)
    ghn_file = 'ghn2-cifar10-seed0.safetensors'
    tensors = ghn_state_dict_numpy(ghn)
    meta = ghn_metadata(GHN2_CIFAR10, fmt='ppuda-ghn', torch_version=torch.__version__,
                        ppuda_commit=pp.commit or 'unknown', seed=str(GHN_SEED))
    write_safetensors(os.path.join(a.out, ghn_file), tensors, meta)
    print('%s: %d tensors, %d values' % (ghn_file, len(tensors), sum(int(v.size) for v in tensors.values())))
    if not a.skip_convert_check:
        check_convert(pp, os.path.join(a.out, ghn_file))

    for net in [n.strip() for n in a.nets.split(',') if n.strip()]:
        record_net(pp, ghn, net, a.out, ghn_file)


if __name__ == '__main__':
    main()
