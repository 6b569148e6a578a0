import * as tf from '@tensorflow/tfjs-core';
import {
  CheckpointError,
  decodeSafetensors,
  readSafetensorsFile,
  safetensorsToTensors,
  tensorsToSafetensors,
  type RawTensor,
  type SafetensorsFile,
} from '@hypernets/core';
import { sameShape, writeFileAtomic } from '@hypernets/core/internal';
import { GHN2, type Ghn2Config } from './ghn2.js';
import { GHN3, type Ghn3Config } from './ghn3.js';
import { LoGAH, type LogahConfig } from './logah.js';

/** `format` in the metadata of GHN safetensors files (ppuda's naming; see scripts/convert_ghn_checkpoint.py). */
export const GHN_FORMAT = 'ppuda-ghn';
/** `format` of GHN-3 / LoGAH files (ghn3's GHN3 class; scripts/convert_ghn_checkpoint.py, scripts/ghn3_fixtures.py). */
export const GHN3_FORMAT = 'ghn3';

/** ppuda's GHN constructor arguments, as stored in the `config` metadata entry. */
interface PpudaConfig {
  max_shape?: number[];
  num_classes?: number;
  hypernet?: string;
  decoder?: string;
  weight_norm?: boolean;
  ve?: boolean;
  layernorm?: boolean;
  hid?: number;
}

/** Our config from ppuda's constructor arguments (GHN-1: ve, layernorm and weight_norm off). */
export function configFromPpuda(c: PpudaConfig, file: string): Ghn2Config {
  if (c.hypernet !== undefined && c.hypernet !== 'gatedgnn')
    throw new CheckpointError(file, `hypernet '${c.hypernet}' is not supported (only ppuda's 'gatedgnn')`);
  if (c.decoder !== undefined && c.decoder !== 'conv')
    throw new CheckpointError(file, `decoder '${c.decoder}' is not supported (only ppuda's 'conv' decoder)`);
  const ms = c.max_shape;
  if (ms !== undefined && (!Array.isArray(ms) || ms.length !== 4))
    throw new CheckpointError(file, `config.max_shape must be 4 integers, got ${JSON.stringify(ms)}`);
  return {
    hid: c.hid ?? 32,
    maxShape: ms ? (ms as [number, number, number, number]) : undefined,
    numClasses: c.num_classes,
    virtualEdges: c.ve ?? false,
    layernorm: c.layernorm ?? false,
    weightNorm: c.weight_norm ?? false,
  };
}

function ppudaConfig(ghn: GHN2): PpudaConfig {
  const c = ghn.config;
  return {
    max_shape: [...c.maxShape],
    num_classes: c.numClasses,
    hypernet: 'gatedgnn',
    decoder: 'conv',
    weight_norm: c.weightNorm,
    ve: c.sMax > 1,
    layernorm: c.layernorm,
    hid: c.hid,
  };
}

/** ghn3's GHN3 constructor arguments (and LoGAH's), as stored in the `config` metadata entry. */
interface Ghn3PyConfig extends PpudaConfig {
  layers?: number;
  heads?: number;
  is_ghn2?: boolean;
  pretrained?: boolean;
  act_layer?: string;
  lora?: boolean;
  lora_r?: number;
  max_ck_lora?: number;
  use_1d_decoder?: boolean;
}

/**
 * Our config from ghn3's GHN3(...) arguments (LoGAH's when `lora` is set), with the Python
 * constructors' defaults for absent keys (ppuda's GHN: weight_norm, ve, layernorm false; GHN3:
 * heads 8, layers 3, is_ghn2 false; LoGAH: lora_r 16, max_ck_lora 32, use_1d_decoder false).
 * `hid`, when absent, is read from embed.weight as ghn3's from_pretrained does.
 */
export function configFromGhn3(
  c: Ghn3PyConfig,
  file: string,
  hidFromWeights?: number,
): { kind: 'ghn3'; config: Ghn3Config } | { kind: 'logah'; config: LogahConfig } {
  const ms = c.max_shape;
  if (!Array.isArray(ms) || ms.length !== 4)
    throw new CheckpointError(
      file,
      `config.max_shape must be 4 integers, got ${JSON.stringify(ms)} (convert with scripts/convert_ghn_checkpoint.py --infer-config)`,
    );
  if (c.num_classes === undefined)
    throw new CheckpointError(
      file,
      'config.num_classes is missing (convert with scripts/convert_ghn_checkpoint.py --infer-config)',
    );
  if (c.act_layer !== undefined && !/GELU$/.test(c.act_layer))
    throw new CheckpointError(file, `act_layer '${c.act_layer}' is not supported (ghn3's default nn.GELU only)`);
  if (c.is_ghn2 && c.hypernet !== undefined && c.hypernet !== 'gatedgnn')
    throw new CheckpointError(file, `hypernet '${c.hypernet}' is not supported (GHN-2 mode: only 'gatedgnn')`);
  const hid = c.hid ?? hidFromWeights;
  if (hid === undefined)
    throw new CheckpointError(file, 'config.hid is missing and the file has no embed.weight to read it from');
  const base: Ghn3Config = {
    hid,
    maxShape: ms as [number, number, number, number],
    numClasses: c.num_classes,
    virtualEdges: c.ve ?? false,
    layernorm: c.layernorm ?? false,
    weightNorm: c.weight_norm ?? false,
    layers: c.layers ?? 3,
    heads: c.heads ?? 8,
  };
  if (c.lora) {
    if (c.is_ghn2) throw new CheckpointError(file, 'a LoGAH (lora) in GHN-2 mode (is_ghn2) is not supported');
    return {
      kind: 'logah',
      config: { ...base, rank: c.lora_r ?? 16, maxCk: c.max_ck_lora ?? 32, use1dDecoder: c.use_1d_decoder ?? false },
    };
  }
  return { kind: 'ghn3', config: { ...base, isGhn2: c.is_ghn2 ?? false } };
}

function ghn3PyConfig(ghn: GHN3): Ghn3PyConfig {
  const c = ghn.config;
  const py: Ghn3PyConfig = {
    ...ppudaConfig(ghn),
    layers: c.layers,
    heads: c.heads,
    is_ghn2: c.isGhn2,
  };
  if (ghn instanceof LoGAH)
    Object.assign(py, {
      lora: true,
      lora_r: ghn.config.rank,
      max_ck_lora: ghn.config.maxCk,
      use_1d_decoder: ghn.config.use1dDecoder,
    });
  return py;
}

/** Names a ghn3 / LoGAH state_dict may use for our variables: before fix_embed_layers (`pretrained`), and LoGAH's second name of decoder.l2. */
const GHN3_ALIASES: Record<string, string> = {
  'centrality_embed_in.weight': 'gnn.0.centrality_embed_in.weight',
  'centrality_embed_out.weight': 'gnn.0.centrality_embed_out.weight',
  'input_dist_embed.weight': 'gnn.0.input_dist_embed.weight',
  'decoder.seq.1.weight': 'decoder.l2.weight',
  'decoder.seq.1.bias': 'decoder.l2.bias',
};

/**
 * A GHN from a safetensors file: format 'ppuda-ghn' (ppuda's layout: state_dict names, PyTorch
 * shapes, the constructor arguments as JSON in `config` metadata) builds a GHN2; format 'ghn3'
 * (ghn3's GHN3 class) a GHN3, or a LoGAH when its config has `lora`. The files the fixture
 * scripts write, or checkpoints converted with scripts/convert_ghn_checkpoint.py. Every tensor is
 * checked (present, right shape, no extras) before any is used. ghn3 files may name the degree
 * embeddings without the `gnn.0.` prefix (saved before fix_embed_layers) and give GHN-2-mode
 * decoder weights as 1×1 convolutions, as ghn3's from_pretrained accepts; LoGAH's duplicate
 * `decoder.seq.1.*` must equal `decoder.l2.*`.
 */
export function ghnFromSafetensors(file: SafetensorsFile, label = 'GHN file'): GHN2 {
  const meta = file.metadata;
  const format = meta.format ?? GHN_FORMAT;
  if (format !== GHN_FORMAT && format !== GHN3_FORMAT)
    throw new CheckpointError(
      label,
      `metadata format is '${meta.format}', expected '${GHN_FORMAT}' or '${GHN3_FORMAT}'`,
    );
  if (meta.config === undefined)
    throw new CheckpointError(
      label,
      "no 'config' metadata entry (the GHN's constructor arguments as JSON); convert checkpoints with scripts/convert_ghn_checkpoint.py",
    );
  let cfg: Ghn3PyConfig;
  try {
    cfg = JSON.parse(meta.config) as Ghn3PyConfig;
  } catch (e) {
    throw new CheckpointError(label, `'config' metadata is not JSON: ${(e as Error).message}`, { cause: e });
  }
  let ghn: GHN2;
  if (format === GHN_FORMAT) ghn = new GHN2(configFromPpuda(cfg, label));
  else {
    const c = configFromGhn3(cfg, label, file.tensors['embed.weight']?.shape[1]);
    ghn = c.kind === 'logah' ? new LoGAH(c.config) : new GHN3(c.config);
  }
  try {
    const own = ghn.ownWeights();
    const names = new Set(ghn.params.map((p) => p.name));
    const aliases = format === GHN3_FORMAT ? GHN3_ALIASES : {};
    const target = (n: string) =>
      names.has(n) ? n : aliases[n] !== undefined && names.has(aliases[n]!) ? aliases[n]! : null;
    const extra = Object.keys(file.tensors).filter((n) => target(n) === null);
    if (extra.length)
      throw new CheckpointError(
        label,
        `tensors this GHN does not have: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`,
      );
    const source = new Map<string, string>(); // our name → the file's
    for (const n of Object.keys(file.tensors)) {
      const t = target(n)!;
      if (!source.has(t) || t === n) source.set(t, n);
    }
    const fits = (fileShape: readonly number[], shape: readonly number[]) =>
      sameShape(fileShape, shape) ||
      (format === GHN3_FORMAT && shape.length === 2 && sameShape(fileShape, [...shape, 1, 1]));
    for (const p of ghn.params) {
      const n = source.get(p.name);
      if (n === undefined) throw new CheckpointError(label, `tensor '${p.name}' is missing`);
      if (!fits(file.tensors[n]!.shape, p.shape))
        throw new CheckpointError(
          label,
          `tensor '${n}' has shape [${file.tensors[n]!.shape.join(', ')}], the GHN needs [${p.shape.join(', ')}]`,
        );
    }
    // Aliases are compared on the file's own arrays (no tensor read-back: WebGPU in Node cannot read synchronously).
    for (const [alias, name] of Object.entries(aliases)) {
      const a = file.tensors[alias];
      const b = file.tensors[name];
      if (!a || !b) continue;
      if (!sameRawTensor(a, b))
        throw new CheckpointError(
          label,
          `'${alias}' and '${name}' name the same tensor in ${format === GHN3_FORMAT ? 'ghn3' : 'ppuda'} but differ`,
        );
    }
    const { tensors } = safetensorsToTensors(file, { file: label });
    try {
      for (const p of ghn.params) {
        const t = tensors[source.get(p.name)!]!;
        (own[p.name] as tf.Variable).assign(t.rank === p.shape.length ? t : tf.reshape(t, p.shape as number[]));
      }
    } finally {
      tf.dispose(Object.values(tensors));
    }
    return ghn;
  } catch (e) {
    ghn.dispose();
    throw e;
  }
}

/** Same shape and equal elements (NaN ≠ NaN, as tf.equal); a dtype change counts as different. */
function sameRawTensor(a: RawTensor, b: RawTensor): boolean {
  if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join() || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** Reads a GHN safetensors file (see ghnFromSafetensors). */
export async function loadGhn(path: string): Promise<GHN2> {
  return ghnFromSafetensors(await readSafetensorsFile(path), path);
}

/** Decodes GHN safetensors bytes (browser or Node). */
export function loadGhnFromBytes(bytes: Uint8Array, label = 'GHN bytes'): GHN2 {
  return ghnFromSafetensors(decodeSafetensors(bytes, { file: label }), label);
}

/**
 * The GHN's variables in ppuda's / ghn3's layout, with its config: readable by loadGhn and by ppuda
 * or ghn3 (load_state_dict of the tensors). A GHN3 / LoGAH is written with format 'ghn3'; a LoGAH
 * also under `decoder.seq.1.*`, the second name its state_dict has for decoder.l2.
 */
export async function ghnToSafetensors(ghn: GHN2, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  if (ghn instanceof GHN3) {
    const w = ghn.ownWeights();
    if (ghn instanceof LoGAH)
      Object.assign(w, {
        'decoder.seq.1.weight': w['decoder.l2.weight']!,
        'decoder.seq.1.bias': w['decoder.l2.bias']!,
      });
    return tensorsToSafetensors(w, { ...metadata, format: GHN3_FORMAT, config: JSON.stringify(ghn3PyConfig(ghn)) });
  }
  return tensorsToSafetensors(ghn.ownWeights(), {
    ...metadata,
    format: GHN_FORMAT,
    config: JSON.stringify(ppudaConfig(ghn)),
  });
}

/** Writes a GHN atomically (temp file, fsync, rename). */
export async function saveGhn(ghn: GHN2, path: string, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, await ghnToSafetensors(ghn, metadata));
}
