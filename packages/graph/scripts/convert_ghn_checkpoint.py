#!/usr/bin/env python3
"""Convert a PyTorch GHN checkpoint to a safetensors file the TypeScript port can read.

Usage:
    convert_ghn_checkpoint.py IN.pt OUT.safetensors [--config JSON] [--infer-config]

Accepted inputs:
  * ppuda GHN-1 / GHN-2 checkpoints (facebookresearch/ppuda, `GHN.load`): a dict with
    'state_dict', 'config' and 'epoch'.
  * ghn3 training checkpoints (SamsungSAILMontreal/ghn3, `Trainer.save`): a dict with
    'state_dict', 'config', 'epoch', 'step', 'optimizer', 'args' (the optimizer is dropped).
  * ghn3 released checkpoints (Hugging Face SamsungSAILMontreal/ghn3, e.g. ghn3tm8.pt): a bare
    state_dict written with joblib. ghn3's own loader infers the config from the tensor shapes;
    pass --infer-config to do the same here, or give the config with --config.
  * any bare state_dict (a mapping of names to tensors) with --config.

--config takes a JSON object; its keys override those found in (or inferred from) the checkpoint.

The output keeps the checkpoint's exact tensor names (e.g. 'gnn.gru.weight_ih',
'decoder.conv.2.weight'), PyTorch layouts, float32 data (float16/bfloat16/float64 are cast to
float32; integer tensors keep their type) and, as '__metadata__' (string → string):
  format        'ppuda-ghn' (GHN-1/GHN-2, ppuda's GHN class) or 'ghn3' (GHN-3, ghn3's GHN3 class)
  config        JSON of the constructor arguments (sorted keys)
  torch_version the torch that read the checkpoint
  source        the input file's name; 'epoch' / 'step' when the checkpoint has them
  config_source 'checkpoint', 'cli', 'inferred' or a '+'-joined mix
  ppuda_commit  only with --ppuda-commit; seed only with --seed (both are known for the fixtures)

The file is written atomically (a temporary file in the same folder, then a rename).
Loading a .pt file unpickles it: convert only checkpoints you trust.
"""

import argparse
import collections.abc
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np

# ---------------------------------------------------------------------------------------------
# safetensors, written and read by hand (the format: an 8-byte little-endian header length N,
# N bytes of JSON header, then the raw little-endian tensor bytes; offsets are relative to the
# start of the data section).

_NP_TO_ST = {
    np.dtype('<f4'): 'F32', np.dtype('<f2'): 'F16', np.dtype('<f8'): 'F64',
    np.dtype('<i8'): 'I64', np.dtype('<i4'): 'I32', np.dtype('<i2'): 'I16', np.dtype('i1'): 'I8',
    np.dtype('u1'): 'U8', np.dtype('bool'): 'BOOL',
}
_ST_TO_NP = {v: k for k, v in _NP_TO_ST.items()}


def encode_safetensors(tensors, metadata=None):
    """Return the bytes of a safetensors file. Tensors are laid out contiguously in sorted-name order."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        dt = arr.dtype.newbyteorder('<') if arr.dtype.byteorder == '>' else arr.dtype
        if dt not in _NP_TO_ST:
            raise TypeError('tensor %r: unsupported dtype %s' % (name, arr.dtype))
        data = np.ascontiguousarray(arr, dtype=dt).tobytes()
        header[name] = {'dtype': _NP_TO_ST[dt], 'shape': [int(s) for s in arr.shape],
                        'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise TypeError('__metadata__ must map strings to strings; bad keys: %s' % bad)
        header['__metadata__'] = dict(sorted(metadata.items()))
    head = json.dumps(header, separators=(',', ':')).encode('utf-8')
    head += b' ' * (-len(head) % 8)  # pad so the data section starts 8-byte aligned
    return struct.pack('<Q', len(head)) + head + b''.join(chunks)


def write_atomic(path, data):
    """Write bytes to path through a temporary file in the same folder and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_safetensors(path, tensors, metadata=None):
    write_atomic(path, encode_safetensors(tensors, metadata))


def read_safetensors(path):
    """Return ({name: np.ndarray}, metadata) of a safetensors file (checks the layout strictly)."""
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError('%s: too short for a safetensors file' % path)
    (n,) = struct.unpack('<Q', raw[:8])
    if 8 + n > len(raw):
        raise ValueError('%s: header length %d exceeds the file size' % (path, n))
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    data = memoryview(raw)[8 + n:]
    metadata = header.pop('__metadata__', {}) or {}
    tensors, end = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0]):
        b, e = info['data_offsets']
        if b != end:
            raise ValueError('%s: tensor %r is not contiguous with the previous one' % (path, name))
        dt = _ST_TO_NP[info['dtype']]
        count = int(np.prod(info['shape'], dtype=np.int64))
        if e - b != count * dt.itemsize:
            raise ValueError('%s: tensor %r has %d bytes for shape %s' % (path, name, e - b, info['shape']))
        tensors[name] = np.frombuffer(data[b:e], dtype=dt).reshape(info['shape']).copy()
        end = e
    if end != len(data):
        raise ValueError('%s: %d trailing bytes after the last tensor' % (path, len(data) - end))
    return tensors, metadata


# ---------------------------------------------------------------------------------------------
# GHN configs

# ppuda's GHN.__init__(max_shape, num_classes, hypernet='gatedgnn', decoder='conv',
# weight_norm=False, ve=False, layernorm=False, hid=32, debug_level=0)
PPUDA_DEFAULTS = {'hypernet': 'gatedgnn', 'decoder': 'conv', 'weight_norm': False, 've': False,
                  'layernorm': False, 'hid': 32}
PPUDA_KEYS = ('max_shape', 'num_classes', 'hypernet', 'decoder', 'weight_norm', 've', 'layernorm', 'hid')
# Not constructor arguments of the network's weights: dropped from the recorded config.
IGNORED_KEYS = ('debug_level',)


def _jsonable(v):
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    if hasattr(v, 'item') and getattr(v, 'ndim', None) == 0:  # 0-d torch tensor
        return v.item()
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, type):  # e.g. ghn3's act_layer=nn.GELU
        return v.__module__ + '.' + v.__qualname__
    raise TypeError('config value %r (%s) is not JSON-serializable' % (v, type(v).__name__))


def config_json(config):
    """The canonical JSON of a GHN config: sorted keys, tuples as lists."""
    return json.dumps(_jsonable(config), sort_keys=True, separators=(',', ':'))


def ghn_metadata(config, fmt='ppuda-ghn', torch_version=None, **extra):
    meta = {'format': fmt, 'config': config_json(config)}
    if torch_version is not None:
        meta['torch_version'] = str(torch_version)
    for k, v in extra.items():
        if v is not None:
            meta[k] = v if isinstance(v, str) else json.dumps(_jsonable(v))
    return meta


def _spatial_rows(s):
    """Rows of ppuda's ShapeEncoder.embed_spatial for a max kernel size s (vocabulary + 1 dummy)."""
    return len(set(list(range(1, max(12, s), 2)) + [14, 16])) + 1


def _channel_rows(num_classes):
    """Rows of ppuda's ShapeEncoder.embed_channel (vocabulary + 1 dummy)."""
    ch = set([1, 3, num_classes] + list(range(8, 64, 8)) + list(range(64, 4096, 16)) + list(range(4096, 8193, 32)))
    return len(ch) + 1


def detect_format(state_dict):
    names = list(state_dict)
    if not any(n == 'embed.weight' or n.endswith('.embed.weight') for n in names):
        raise ValueError('this does not look like a GHN state_dict: no embed.weight among %d tensors '
                         '(first few: %s)' % (len(names), ', '.join(names[:5])))
    # GHN-3 replaces the GatedGNN (gnn.gru.*, gnn.mlp.*) with Graphormer layers (gnn.0.*, gnn.1.*, ...);
    # ghn3's own loader tells GHN-2 from GHN-3 by the presence of 'gnn.gru.'.
    if any(n.startswith('gnn.gru.') for n in names) or any(n.startswith('gnn.fc.') for n in names):
        # GatedGNN or ppuda's MLP hypernet. A GHN-2 saved by ghn3's GHN3 class has 2-D (Linear)
        # decoder.conv weights instead of ppuda's 4-D 1x1 convolutions.
        w = state_dict.get('decoder.conv.0.weight')
        if w is not None and w.dim() == 2:
            return 'ghn3'
        return 'ppuda-ghn'
    return 'ghn3'


def infer_config(state_dict, fmt):
    """Infer what the tensor shapes say about the config (as ghn3's from_pretrained does).

    Returns (config, keys that could not be inferred).
    """
    sd = state_dict
    cfg, unknown = {}, []
    hid = sd['embed.weight'].shape[-1]
    cfg['hid'] = int(hid)
    ncls = None
    # LoGAH without its 1-D decoder keeps a 1x1 placeholder bias_class: it does not tell the classes
    placeholder = 'decoder.l2.weight' in sd and 'decoder_1d.fc.0.weight' not in sd
    for k in ('decoder.class_layer_predictor.1.weight', 'bias_class.1.weight', 'decoder.class_layer_predictor.1.bias'):
        if k in sd and not (placeholder and k.startswith('bias_class')):
            ncls = int(sd[k].shape[0])
            break
    if ncls is None:
        unknown.append('num_classes')
    else:
        cfg['num_classes'] = ncls
    spatial = sd.get('shape_enc.embed_spatial.weight')
    s = None
    if spatial is not None:
        s = {_spatial_rows(k): k for k in (16, 11)}.get(int(spatial.shape[0]))
    if 'decoder.conv.2.weight' in sd and s is not None:
        ch = int(round(math.sqrt(sd['decoder.conv.2.weight'].shape[0])))
        cfg['max_shape'] = [ch, ch, s, s]
    else:
        unknown.append('max_shape')
    cfg['layernorm'] = 'ln.weight' in sd
    if fmt == 'ppuda-ghn':
        cfg['hypernet'] = 'gatedgnn' if 'gnn.gru.weight_ih' in sd else 'mlp'
        cfg['decoder'] = 'conv' if 'decoder.conv.0.weight' in sd else 'mlp'
        cfg['ve'] = 'gnn.mlp_ve.fc.0.weight' in sd
        unknown.append('weight_norm')  # not visible in the weights (GHN-1: false, GHN-2: true)
    else:
        # ghn3's from_pretrained assumptions for its released checkpoints
        is_ghn2 = any(n.startswith('gnn.gru.') for n in sd)
        cfg['is_ghn2'] = is_ghn2
        cfg['weight_norm'] = True
        cfg['ve'] = True
        if not is_ghn2:
            cfg['layers'] = sum(1 for n in sd if n.startswith('gnn.') and n.endswith('ln1.weight'))
            cfg['heads'] = 16 if hid > 64 else 8
            cfg['pretrained'] = any(n.startswith('centrality_embed_in') for n in sd)
        if 'decoder.l2.weight' in sd:
            # LoGAH's low-rank decoder (ConvDecoder3LoRA): l1 is [r, r], l2 [max_ck_lora, r]; its max_shape
            # (the decoder key cap) is not visible in the weights
            cfg['lora'] = True
            cfg['lora_r'] = int(sd['decoder.l1.weight'].shape[0])
            cfg['max_ck_lora'] = int(sd['decoder.l2.weight'].shape[0])
            cfg['use_1d_decoder'] = 'decoder_1d.fc.0.weight' in sd
    return cfg, unknown


def check_ppuda_config(cfg, sd):
    """Check a ppuda GHN config against the state_dict; return a list of problems."""
    problems = []
    missing = [k for k in ('max_shape', 'num_classes') if k not in cfg]
    if missing:
        return ['config lacks %s' % ', '.join(missing)]
    ms, hid, ncls = cfg['max_shape'], cfg['hid'], cfg['num_classes']
    if not (isinstance(ms, (list, tuple)) and len(ms) == 4):
        return ['max_shape must have 4 entries, got %r' % (ms,)]

    def expect(name, shape):
        if name not in sd:
            problems.append('missing tensor %s (expected shape %s)' % (name, list(shape)))
        elif list(sd[name].shape) != list(shape):
            problems.append('%s has shape %s, the config implies %s' % (name, list(sd[name].shape), list(shape)))

    expect('embed.weight', (15, hid))
    expect('shape_enc.embed_channel.weight', (_channel_rows(ncls), hid // 4))
    expect('shape_enc.embed_spatial.weight', (_spatial_rows(ms[3]), hid // 4))
    max_ch = max(ms[:2])
    expect('decoder_1d.fc.2.weight', (2 * max_ch, 2 * hid))
    expect('bias_class.1.weight', (ncls, max_ch))
    if cfg['layernorm']:
        expect('ln.weight', (hid,))
    elif 'ln.weight' in sd:
        problems.append('layernorm is false but the state_dict has ln.weight')
    if cfg['hypernet'] == 'gatedgnn':
        expect('gnn.gru.weight_ih', (3 * hid, hid))
        if cfg['ve']:
            expect('gnn.mlp_ve.fc.0.weight', (hid // 2, hid))
        elif 'gnn.mlp_ve.fc.0.weight' in sd:
            problems.append('ve is false but the state_dict has gnn.mlp_ve.*')
    if cfg['decoder'] == 'conv':
        expect('decoder.fc.0.weight', (4 * hid * ms[2] * ms[3], hid))
        expect('decoder.conv.2.weight', (ms[0] * ms[1], 8 * hid, 1, 1))
        expect('decoder.class_layer_predictor.1.weight', (ncls, ms[0], 1, 1))
    return problems


def resolve_config(file_config, cli_config, state_dict, fmt, infer):
    sources = []
    cfg = {}
    if infer or file_config is None:
        inferred, unknown = infer_config(state_dict, fmt)
        if infer:
            cfg.update(inferred)
            sources.append('inferred')
    else:
        unknown = []
    if file_config is not None:
        if not isinstance(file_config, collections.abc.Mapping):
            # ghn3 stores an argparse Namespace under 'args' but a dict under 'config'
            file_config = vars(file_config) if hasattr(file_config, '__dict__') else None
            if file_config is None:
                raise ValueError("the checkpoint's 'config' is neither a dict nor a namespace")
        cfg.update(file_config)
        sources.append('checkpoint')
    if cli_config:
        cfg.update(cli_config)
        sources.append('cli')
    for k in IGNORED_KEYS:
        cfg.pop(k, None)
    if not sources:
        raise ValueError('the checkpoint is a bare state_dict without a config: pass --config \'{"max_shape": '
                         '[64, 64, 11, 11], "num_classes": 10, ...}\' or --infer-config')
    if fmt == 'ppuda-ghn':
        for k, v in PPUDA_DEFAULTS.items():
            cfg.setdefault(k, v)
        still = [k for k in PPUDA_KEYS if k not in cfg]
        if still:
            raise ValueError('cannot determine %s for this ppuda GHN (not in the checkpoint, not inferable%s): '
                             'pass them with --config' % (', '.join(still),
                                                        '' if infer else ' without --infer-config'))
        if infer and 'weight_norm' in unknown and not (cli_config and 'weight_norm' in cli_config) \
                and not (file_config and 'weight_norm' in file_config):
            raise ValueError('weight_norm cannot be inferred from the weights (GHN-1: false, GHN-2: true): '
                             'pass --config \'{"weight_norm": true}\' (or false)')
        unexpected = sorted(set(cfg) - set(PPUDA_KEYS))
        if unexpected:
            raise ValueError('unexpected keys for ppuda GHN config: %s' % ', '.join(unexpected))
        cfg['max_shape'] = [int(x) for x in cfg['max_shape']]
        cfg = {k: cfg[k] for k in PPUDA_KEYS}
    else:
        if 'max_shape' in cfg:
            cfg['max_shape'] = [int(x) for x in cfg['max_shape']]
        if 'max_shape' not in cfg or 'num_classes' not in cfg:
            raise ValueError('the GHN-3 config needs max_shape and num_classes (pass --config or --infer-config)')
    return cfg, '+'.join(sources)


# ---------------------------------------------------------------------------------------------
# checkpoint reading

def load_checkpoint(path):
    import torch
    try:
        return torch.load(path, map_location='cpu')
    except Exception as torch_err:
        # ghn3's Hugging Face checkpoints are joblib dumps, possibly compressed
        try:
            import joblib
        except ImportError:
            raise RuntimeError('torch.load failed on %s (%s); if it is a joblib file (ghn3\'s Hugging Face '
                               'checkpoints), install joblib (apt-get install python3-joblib)' % (path, torch_err))
        try:
            return joblib.load(path)
        except Exception as jl_err:
            raise RuntimeError('cannot read %s: torch.load: %s; joblib.load: %s' % (path, torch_err, jl_err))


def split_checkpoint(obj):
    """Return (state_dict, config or None, extra metadata) of a loaded checkpoint."""
    import torch
    extra = {}
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict(), getattr(obj, 'config', None), extra
    if not isinstance(obj, collections.abc.Mapping):
        raise ValueError('expected a dict (checkpoint or state_dict), got %s' % type(obj).__name__)
    if 'state_dict' in obj:
        sd = obj['state_dict']
        if isinstance(sd, torch.nn.Module):
            sd = sd.state_dict()
        for k in ('epoch', 'step'):
            if k in obj and isinstance(obj[k], (int, np.integer)):
                extra[k] = str(int(obj[k]))
        return sd, obj.get('config'), extra
    if all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj, None, extra
    raise ValueError("expected a 'state_dict' key or a mapping of names to tensors; keys are: %s"
                     % ', '.join(map(str, list(obj)[:20])))


def to_numpy_state_dict(sd):
    import torch
    out = {}
    for name, t in sd.items():
        if not isinstance(t, torch.Tensor):
            raise ValueError('state_dict entry %r is a %s, not a tensor' % (name, type(t).__name__))
        t = t.detach().cpu()
        if t.is_floating_point():
            t = t.float()
        out[name] = t.contiguous().numpy()
    return out


def convert(in_path, out_path, cli_config=None, infer=False, ppuda_commit=None, seed=None, verbose=True):
    import torch
    obj = load_checkpoint(in_path)
    sd, file_config, extra = split_checkpoint(obj)
    if sd and all(n.startswith('module.') for n in sd):
        # a GHN wrapped in DataParallel (ppuda's ghn_parallel) or DDP (ghn3) saved as is
        sd = {n[len('module.'):]: v for n, v in sd.items()}
    fmt = detect_format(sd)
    cfg, source = resolve_config(file_config, cli_config, sd, fmt, infer)
    if fmt == 'ppuda-ghn':
        problems = check_ppuda_config(cfg, sd)
        if problems:
            raise ValueError('the config does not match the weights:\n  ' + '\n  '.join(problems)
                             + '\nconfig: ' + config_json(cfg))
    tensors = to_numpy_state_dict(sd)
    meta = ghn_metadata(cfg, fmt=fmt, torch_version=torch.__version__, source=os.path.basename(in_path),
                        config_source=source, ppuda_commit=ppuda_commit,
                        seed=None if seed is None else str(seed), **extra)
    write_safetensors(out_path, tensors, meta)
    if verbose:
        n = sum(int(v.size) for v in tensors.values())
        print('%s: %d tensors, %d values, format %s, config %s' % (out_path, len(tensors), n, fmt, meta['config']))
    return tensors, meta


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__[__doc__.find('Accepted'):])
    p.add_argument('input', help='GHN checkpoint (.pt / joblib)')
    p.add_argument('output', help='safetensors file to write')
    p.add_argument('--config', help='JSON object of GHN constructor arguments (overrides the checkpoint\'s)')
    p.add_argument('--infer-config', action='store_true', help='infer missing config entries from tensor shapes')
    p.add_argument('--ppuda-commit', help='record this ppuda commit in the metadata')
    p.add_argument('--seed', type=int, help='record this seed in the metadata')
    a = p.parse_args(argv)
    cli_config = None
    if a.config:
        try:
            cli_config = json.loads(a.config)
        except json.JSONDecodeError as e:
            p.error('--config is not valid JSON: %s' % e)
        if not isinstance(cli_config, dict):
            p.error('--config must be a JSON object, got %s' % type(cli_config).__name__)
    if not os.path.isfile(a.input):
        p.error('no such file: %s' % a.input)
    try:
        convert(a.input, a.output, cli_config, a.infer_config, a.ppuda_commit, a.seed)
    except (ValueError, RuntimeError, TypeError) as e:
        print('error: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
