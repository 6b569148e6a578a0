#!/usr/bin/env python3
"""Reference data from ghn3's GHN-3 (SamsungSAILMontreal/ghn3) and LoGAH (Blackzxy/LoGAH) for testing
the TypeScript ports (packages/graph/src/ghn3.ts, logah.ts).

Writes into packages/graph/fixtures/ghn3/ (or --out):
  ghn3-hid32-seed0.safetensors      a randomly initialised GHN-3 (torch.manual_seed(0) right before
                                     ghn3's GHN3(...)), hid 32, 3 Graphormer layers, 8 heads, full
                                     state_dict under ghn3's names, format 'ghn3'
  resnet18.json, resnet50.json      ghn3's graph of the torchvision net (nodes, edges with virtual
                                     edges up to 50, the structural indices the first Graphormer layer
                                     computes), the decoder key of every parameter and statistics /
                                     samples of every parameter the GHN-3 predicted
  resnet18-embeddings.safetensors   node embeddings [N, 32] at each stage of GHN3.forward (x_embed,
  resnet50-embeddings.safetensors   x_shape, x_struct, x_layer0..2, x_ln) and, for ResNet-18, the
                                     attention biases [N, N, 8] of the first layer
  ghn3-ghn2mode-hid16-seed0.safetensors + resnet18-ghn2mode.json (+ -embeddings):
                                     ghn3's GHN3 with is_ghn2=True (GatedGNN, ConvDecoder3 in GHN-2
                                     mode, 2-D decoder weights), a small config
  logah-hid32-r16-seed0.safetensors + resnet18-logah.json (+ -embeddings):
                                     LoGAH's GHN3 with lora=True (the low-rank decoder)

ghn3 and LoGAH are imported from checkouts outside this repository (--ghn3 / --logah: a source tree
or a bare git directory whose HEAD is exported to a temporary folder), each loaded as a package
without running its __init__ (which imports training-only modules). ppuda comes from --ppuda as in
ppuda_fixtures.py. Stubbed when missing: matplotlib, einops (ppuda), transformers (only its class
names are referenced at import time: Conv1D, LlamaPreTrainedModel, LlamaRMSNorm), huggingface_hub
(from_pretrained only), joblib. Run with /usr/bin/python3 (Debian torch/torchvision/networkx).
"""

import argparse
import contextlib
import copy
import importlib
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
from convert_ghn_checkpoint import config_json, convert, ghn_metadata, read_safetensors, write_safetensors  # noqa: E402
from ppuda_fixtures import (_stub, dump_json, graph_edges, graph_nodes, import_ppuda, param_keys,  # noqa: E402
                            param_stats)

DEFAULT_OUT = os.path.normpath(os.path.join(HERE, '..', 'fixtures', 'ghn3'))

# GHN-3 as ghn3's train_ghn_ddp.py builds it for CIFAR-10 (`-n -v 50 --ln`, default max_shape
# (hid, hid, 11, 11), layers 3, heads 8), at hid 32 instead of GHN-3-T's 64 to keep the file small.
GHN3_CFG = {'max_shape': (32, 32, 11, 11), 'num_classes': 10, 'hypernet': 'gatedgnn', 'decoder': 'conv',
            'weight_norm': True, 've': True, 'layernorm': True, 'hid': 32, 'layers': 3, 'heads': 8,
            'is_ghn2': False}
# GHN-2 inside ghn3's GHN3 class (train_ghn_ddp.py --ghn2), small.
GHN2MODE_CFG = {'max_shape': (32, 32, 11, 11), 'num_classes': 10, 'hypernet': 'gatedgnn', 'decoder': 'conv',
                'weight_norm': True, 've': True, 'layernorm': True, 'hid': 16, 'layers': 3, 'heads': 8,
                'is_ghn2': True}
# LoGAH (lora=True, use_1d_decoder=False as in LoGAH's config.py): rank hid/2 (compute_params.py),
# max_ck_lora = 16 * max_shape[0] (config.py: 2048 * 16 for max_shape 2048), here max_shape 128.
LOGAH_CFG = {'max_shape': (128, 128, 16, 16), 'num_classes': 10, 'hypernet': 'gatedgnn', 'decoder': 'conv',
             'weight_norm': True, 've': True, 'layernorm': True, 'hid': 32, 'layers': 3, 'heads': 8,
             'is_ghn2': False, 'lora': True, 'lora_r': 16, 'max_ck_lora': 2048, 'use_1d_decoder': False}
GHN_SEED = 0
NET_SEED = 1
VE_CUTOFF = 50


# ---------------------------------------------------------------------------------------------
# importing ghn3 / LoGAH

def _git(args):
    return subprocess.run(['git'] + args, check=True, capture_output=True, text=True).stdout.strip()


def export_tree(path, folder, label):
    """(source folder containing `folder`/, commit or None); a bare git dir's HEAD:folder is exported."""
    path = os.path.abspath(path)
    if os.path.isdir(os.path.join(path, folder)):
        try:
            commit = _git(['-C', path, 'rev-parse', 'HEAD'])
        except (subprocess.CalledProcessError, FileNotFoundError):
            commit = None
        return path, commit
    if os.path.isfile(os.path.join(path, 'HEAD')) and os.path.isdir(os.path.join(path, 'objects')):
        commit = _git(['--git-dir', path, 'rev-parse', 'HEAD'])
        dst = tempfile.mkdtemp(prefix='%s-%s-' % (label, commit[:8]))
        tar = subprocess.run(['git', '--git-dir', path, 'archive', '--format=tar', commit, folder],
                             check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as t:
            t.extractall(dst)
        return dst, commit
    raise SystemExit('error: %s is neither a %s source tree (with %s/) nor a bare git directory' % (path, label, folder))


def _install_ghn3_stubs():
    stubbed = []
    import torch.nn as nn
    if importlib.util.find_spec('transformers') is None:
        class _Never(nn.Module):  # referenced in isinstance checks / dict keys only
            pass
        pu = _stub('transformers.pytorch_utils', Conv1D=type('Conv1D', (_Never,), {}))
        ml = _stub('transformers.models.llama.modeling_llama', LlamaRMSNorm=type('LlamaRMSNorm', (_Never,), {}))
        llama = _stub('transformers.models.llama', modeling_llama=ml)
        models = _stub('transformers.models', llama=llama)
        _stub('transformers', pytorch_utils=pu, models=models,
              LlamaPreTrainedModel=type('LlamaPreTrainedModel', (_Never,), {}))
        stubbed.append('transformers')
    if importlib.util.find_spec('huggingface_hub') is None:
        class HfHubHTTPError(Exception):
            pass

        def hf_hub_download(*a, **k):
            raise HfHubHTTPError('huggingface_hub is stubbed')
        utils = _stub('huggingface_hub.utils', HfHubHTTPError=HfHubHTTPError)
        _stub('huggingface_hub', hf_hub_download=hf_hub_download, utils=utils)
        stubbed.append('huggingface_hub')
    if importlib.util.find_spec('joblib') is None:
        _stub('joblib', load=lambda *a, **k: (_ for _ in ()).throw(NotImplementedError('joblib is stubbed')))
        stubbed.append('joblib')
    return stubbed


def import_package(src, folder, name):
    """Import src/folder as package `name` without executing its __init__.py; return name.nn."""
    pkg = types.ModuleType(name)
    pkg.__path__ = [os.path.join(src, folder)]
    pkg.__package__ = name
    sys.modules[name] = pkg
    with contextlib.redirect_stdout(io.StringIO()):  # LoGAH's nn.py prints a banner
        nn_mod = importlib.import_module(name + '.nn')
    graph_mod = importlib.import_module(name + '.graph')
    return nn_mod, graph_mod


# ---------------------------------------------------------------------------------------------
# records

def sd_numpy(ghn):
    return {k: v.detach().cpu().float().contiguous().numpy() for k, v in ghn.state_dict().items()}


def structure(edges_dense):
    """What the first Graphormer layer computes from the dense distance matrix [N, N]."""
    import torch
    e1 = (edges_dense == 1).long()
    return {'in_degree': torch.clip(e1.sum(0), 0, 100).tolist(),
            'out_degree': torch.clip(e1.sum(1), 0, 100).tolist(),
            'input_dist': torch.clip(edges_dense[0, :], 0, 1000).tolist()}


def run_ghn(ghn, model, graph_cls, batch_cls, is_dense, n_layers):
    """ghn(model) with hooks on every stage; returns (model, captured, log, graph, batch, params_map)."""
    import torch
    graph = graph_cls(copy.deepcopy(model), ve_cutoff=VE_CUTOFF)
    captured = {}

    def keep(name, idx=None):
        def hook(module, inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            captured[name] = out.detach().clone().reshape(-1, out.shape[-1])
            if idx == 0 and isinstance(output, tuple):
                captured['attn_bias'] = output[1].detach().clone()
        return hook

    handles = [ghn.embed.register_forward_hook(keep('x_embed')),
               ghn.shape_enc.register_forward_hook(keep('x_shape')),
               ghn.ln.register_forward_hook(keep('x_ln'))]
    if is_dense:
        inputs_ref = {}

        def pre0(module, inputs):
            inputs_ref['x'] = inputs[0]
            inputs_ref['edges'] = inputs[1].detach().clone()

        def post0(module, inputs, output):
            # the layer adds the centrality / input-distance embeddings to its input in place
            captured['x_struct'] = inputs_ref['x'].detach().clone().reshape(-1, inputs_ref['x'].shape[-1])
        handles.append(ghn.gnn[0].register_forward_pre_hook(pre0))
        handles.append(ghn.gnn[0].register_forward_hook(post0))
        for i in range(n_layers):
            handles.append(ghn.gnn[i].register_forward_hook(keep('x_layer%d' % i, i)))
    else:
        handles.append(ghn.gnn.register_forward_hook(keep('x_gnn')))
    levels = ghn.debug_level, ghn.shape_enc.debug_level
    ghn.debug_level = ghn.shape_enc.debug_level = 1
    log = io.StringIO()
    model = copy.deepcopy(model)
    try:
        with contextlib.redirect_stdout(log), torch.no_grad():
            model = ghn(model, batch_cls([graph], dense=is_dense).to_device('cpu'))
    finally:
        ghn.debug_level, ghn.shape_enc.debug_level = levels
        for h in handles:
            h.remove()
    if is_dense:
        captured['edges_dense'] = inputs_ref['edges'][0]
    return model, captured, log.getvalue(), graph


def recheck(ghn, model, graph, batch_cls, is_dense, captured):
    """Re-run the pieces of GHN3.forward by hand; they must equal what the hooks saw."""
    import torch
    batch = batch_cls([graph], dense=is_dense).to_device('cpu')
    _, params_map = ghn._map_net_params(batch, copy.deepcopy(model), reduce_graph=False)
    with torch.no_grad():
        nf = batch.to_sparse(batch.node_feat)[:, 0] if is_dense else batch.node_feat[:, 0]
        x = ghn.shape_enc(ghn.embed(nf), params_map, predict_class_layers=True)
        assert torch.equal(x, captured['x_shape'])
        if is_dense:
            x = batch.to_dense(x=x)[0]
            mask = batch.mask & batch.mask.permute(0, 2, 1)
        else:
            mask = batch.node_feat[:, 1]
        x = ghn.gnn(x, batch.edges, mask)
        x = x.reshape(-1, x.shape[-1])
        assert torch.equal(x, captured['x_layer%d' % (len(ghn.gnn) - 1)] if is_dense else captured['x_gnn'])
        assert torch.equal(ghn.ln(x), captured['x_ln'])


def record(name, ghn, cfg, ghn_file, net_name, graph_mod, out_dir, commits, stubbed, with_graph, with_bias):
    import torch
    import torchvision
    is_dense = ghn.is_dense()
    n_layers = len(ghn.gnn) if is_dense else 0
    torch.manual_seed(NET_SEED)
    pristine = getattr(torchvision.models, net_name)()
    model, cap, log, graph = run_ghn(ghn, pristine, graph_mod.Graph, graph_mod.GraphBatch, is_dense, n_layers)
    recheck(ghn, pristine, graph, graph_mod.GraphBatch, is_dense, cap)
    sys.stdout.write(''.join('  %s: %s\n' % (name, line) for line in log.strip().splitlines()))
    m = re.search(r'number of parameter tensors predicted using GHN: (\d+), total parameters predicted: '
                  r'(\d+) \(([^)]*)\)', log)
    if not m:
        raise RuntimeError('%s did not report the predicted parameter count:\n%s' % (name, log))

    batch = graph_mod.GraphBatch([graph_mod.Graph(copy.deepcopy(pristine), ve_cutoff=VE_CUTOFF)],
                                 dense=is_dense).to_device('cpu')
    model_keys = copy.deepcopy(pristine)
    _, params_map = ghn._map_net_params(batch, model_keys, reduce_graph=False)
    edges = graph_edges(graph)
    n_real = sum(1 for e in edges if e[2] == 1)
    rec = {'meta': {
        'net': 'torchvision.models.%s()' % net_name, 'net_seed': NET_SEED, 'ghn_seed': GHN_SEED,
        'ghn_file': ghn_file, 'ghn_config': json.loads(config_json(cfg)), 've_cutoff': VE_CUTOFF,
        **commits,
        'torch_version': torch.__version__, 'torchvision_version': torchvision.__version__,
        'numpy_version': __import__('numpy').__version__, 'networkx_version': __import__('networkx').__version__,
        'python_version': platform.python_version(), 'stubbed_modules': stubbed,
        'n_nodes': graph.n_nodes, 'n_edges': len(edges), 'n_real_edges': n_real,
        'predicted_tensors': int(m.group(1)), 'predicted_params': int(m.group(2)), 'params_match': m.group(3),
        'log': [re.sub(r', time to predict.*$', '', line) for line in log.strip().splitlines()],
        'notes': [
            'GHN3.forward(model, GraphBatch([Graph(model, ve_cutoff=50)], dense=ghn.is_dense())) in eval mode, '
            'no grad, reduce_graph=False (the forward default)',
            'nodes/edges/keys/params: as in fixtures/ppuda (see scripts/README.md), from the graph.py of the '
            'code that made this file',
            'structure: clip(in-degree, 0, 100), clip(out-degree, 0, 100) over edges with distance 1 and '
            'clip(dist[0, j], 0, 1000) (shortest path from node 0, the input; 0 for none), as the first '
            'Graphormer layer computes them',
        ]}}
    if with_graph:
        rec['nodes'] = graph_nodes(PP, graph, params_map)
        rec['edges'] = edges
        if is_dense:
            rec['structure'] = structure(cap['edges_dense'])
    rec['keys'] = param_keys(model_keys, params_map)
    rec['params'] = [param_stats(n, p) for n, p in model.named_parameters()]
    stem = net_name if name == 'ghn3' else '%s-%s' % (net_name, name)
    dump_json(os.path.join(out_dir, stem + '.json'), rec)
    keys = ['x_embed', 'x_shape'] + (['x_struct'] + ['x_layer%d' % i for i in range(n_layers)] if is_dense
                                     else ['x_gnn']) + ['x_ln']
    emb = {k: cap[k].float().numpy() for k in keys}
    if with_bias and 'attn_bias' in cap:
        emb['attn_bias'] = cap['attn_bias'][0].float().numpy()
    meta = ghn_metadata(cfg, fmt='ghn3-embeddings', torch_version=torch.__version__, seed=str(GHN_SEED),
                        net_seed=str(NET_SEED), net='torchvision.models.%s()' % net_name, ghn_file=ghn_file,
                        description='hooks on GHN3.forward: x_embed (embed), x_shape (shape_enc), x_struct (input '
                                    'of gnn[0] after its centrality/input-distance embeddings), x_layer<i> '
                                    '(gnn[i]), x_gnn (GatedGNN), x_ln (ln); attn_bias: gnn[0] edge output '
                                    '[N, N, heads]; rows in node order of %s.json' % stem, **commits)
    write_safetensors(os.path.join(out_dir, stem + '-embeddings.safetensors'), emb, meta)
    print('%s %s: %d nodes, %d edges (%d real), %d tensors, %d params predicted (%s)' % (
        name, net_name, graph.n_nodes, len(edges), n_real, len(rec['params']), int(m.group(2)), m.group(3)))
    return rec


def write_ghn(ghn, cfg, path, commits, fmt='ghn3'):
    import torch
    tensors = sd_numpy(ghn)
    meta = ghn_metadata(cfg, fmt=fmt, torch_version=torch.__version__, seed=str(GHN_SEED), **commits)
    write_safetensors(path, tensors, meta)
    print('%s: %d tensors, %d values' % (os.path.basename(path), len(tensors), sum(int(v.size) for v in tensors.values())))


def check_convert(ghn, cfg, fixture_path, cli=None):
    """The converter turns ghn3's / LoGAH's checkpoints into the fixture's tensors and config: a Trainer.save
    checkpoint (config included) exactly; a bare state_dict with --infer-config (plus `cli`, what the weights
    cannot tell) with the same architecture keys."""
    import torch
    ref, ref_meta = read_safetensors(fixture_path)
    ref_cfg = json.loads(ref_meta['config'])
    with tempfile.TemporaryDirectory() as tmp:
        pt = os.path.join(tmp, 'ckpt.pt')
        torch.save({'state_dict': ghn.state_dict(), 'optimizer': {}, 'epoch': 0, 'step': 0, 'config': dict(cfg)}, pt)
        out = os.path.join(tmp, 'out.safetensors')
        convert(pt, out, verbose=False)
        t, meta = read_safetensors(out)
        assert sorted(t) == sorted(ref), 'tensor names differ'
        assert all(t[k].tobytes() == ref[k].tobytes() for k in ref), 'tensor values differ'
        assert meta['format'] == ref_meta['format'] and json.loads(meta['config']) == ref_cfg, (meta, ref_meta)
        bare = os.path.join(tmp, 'bare.pt')
        torch.save(ghn.state_dict(), bare)
        convert(bare, out, cli_config=cli, infer=True, verbose=False)
        t, meta = read_safetensors(out)
        inferred = json.loads(meta['config'])
        keys = [k for k in ref_cfg if k not in ('hypernet', 'decoder')]
        assert meta['format'] == 'ghn3' and {k: inferred.get(k) for k in keys} == {k: ref_cfg[k] for k in keys}, \
            (inferred, ref_cfg)
    print('convert_ghn_checkpoint.py: %s as a checkpoint and as a bare state_dict (--infer-config) converts to '
          'the fixture tensors and config' % os.path.basename(fixture_path))


def same_graphs(graph_a, graph_b, net_name):
    import torch
    torch.manual_seed(NET_SEED)
    import torchvision
    net = getattr(torchvision.models, net_name)()
    a, b = graph_a.Graph(copy.deepcopy(net), ve_cutoff=VE_CUTOFF), graph_b.Graph(copy.deepcopy(net), ve_cutoff=VE_CUTOFF)
    names = lambda g: [(n['param_name'], int(t)) for n, t in zip(g._nodes, g.node_feat[:, 0])]
    assert names(a) == names(b) and graph_edges(a) == graph_edges(b), 'the graph.py files build different graphs'


PP = None


def main(argv=None):
    global PP
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--ppuda', default=os.environ.get('PPUDA_DIR', '/tmp/ppuda'))
    p.add_argument('--ghn3', default=os.environ.get('GHN3_DIR', '/tmp/ghn3'))
    p.add_argument('--logah', default=os.environ.get('LOGAH_DIR', '/tmp/LoGAH'))
    p.add_argument('--out', default=DEFAULT_OUT)
    p.add_argument('--nets', default='resnet18,resnet50')
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args(argv)

    import torch
    torch.set_num_threads(a.threads)
    PP = import_ppuda(a.ppuda)
    stubbed = list(PP.stubbed) + _install_ghn3_stubs()
    g3_src, g3_commit = export_tree(a.ghn3, 'ghn3', 'ghn3')
    lg_src, lg_commit = export_tree(a.logah, 'ghn3', 'logah')
    g3_nn, g3_graph = import_package(g3_src, 'ghn3', 'ghn3')
    lg_nn, lg_graph = import_package(lg_src, 'ghn3', 'logah_ghn3')
    commits = {'ghn3_commit': g3_commit or 'unknown', 'ppuda_commit': PP.commit or 'unknown'}
    print('ghn3 %s, LoGAH %s, ppuda %s, torch %s, stubbed: %s' % (g3_commit, lg_commit, PP.commit, torch.__version__,
                                                                  stubbed))
    os.makedirs(a.out, exist_ok=True)
    nets = [n.strip() for n in a.nets.split(',') if n.strip()]

    # GHN-3
    torch.manual_seed(GHN_SEED)
    ghn = g3_nn.GHN3(**GHN3_CFG).eval()
    f = 'ghn3-hid32-seed0.safetensors'
    write_ghn(ghn, GHN3_CFG, os.path.join(a.out, f), commits)
    check_convert(ghn, GHN3_CFG, os.path.join(a.out, f))
    for net in nets:
        record('ghn3', ghn, GHN3_CFG, f, net, g3_graph, a.out, commits, stubbed, True, net == 'resnet18')

    # GHN-2 in ghn3's class
    torch.manual_seed(GHN_SEED)
    ghn = g3_nn.GHN3(**GHN2MODE_CFG).eval()
    f = 'ghn3-ghn2mode-hid16-seed0.safetensors'
    write_ghn(ghn, GHN2MODE_CFG, os.path.join(a.out, f), commits)
    check_convert(ghn, GHN2MODE_CFG, os.path.join(a.out, f), cli={'layers': 3, 'heads': 8})  # unused in GHN-2 mode
    record('ghn2mode', ghn, GHN2MODE_CFG, f, 'resnet18', g3_graph, a.out, commits, stubbed, False, False)

    # LoGAH
    lcommits = {'logah_commit': lg_commit or 'unknown', 'ppuda_commit': PP.commit or 'unknown'}
    torch.manual_seed(GHN_SEED)
    with contextlib.redirect_stdout(io.StringIO()):
        ghn = lg_nn.GHN3(**LOGAH_CFG).eval()
    f = 'logah-hid32-r16-seed0.safetensors'
    write_ghn(ghn, LOGAH_CFG, os.path.join(a.out, f), lcommits)
    check_convert(ghn, LOGAH_CFG, os.path.join(a.out, f),
                  cli={'max_shape': list(LOGAH_CFG['max_shape']), 'num_classes': LOGAH_CFG['num_classes']})
    same_graphs(g3_graph, lg_graph, 'resnet18')
    print("LoGAH's graph.py builds ghn3's graph of resnet18")
    record('logah', ghn, LOGAH_CFG, f, 'resnet18', lg_graph, a.out, lcommits, stubbed, False, False)


if __name__ == '__main__':
    main()
