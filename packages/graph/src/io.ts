import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, decodeSafetensors, readSafetensorsFile, safetensorsToTensors, sameShape, tensorsToSafetensors, writeFileAtomic, type SafetensorsFile } from '@hypernets/core';
import { GHN2, type Ghn2Config } from './ghn2.js';

/** `format` in the metadata of GHN safetensors files (ppuda's naming; see scripts/convert_ghn_checkpoint.py). */
export const GHN_FORMAT = 'ppuda-ghn';

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
  if (c.hypernet !== undefined && c.hypernet !== 'gatedgnn') throw new CheckpointError(file, `hypernet '${c.hypernet}' is not supported (only ppuda's 'gatedgnn')`);
  if (c.decoder !== undefined && c.decoder !== 'conv') throw new CheckpointError(file, `decoder '${c.decoder}' is not supported (only ppuda's 'conv' decoder)`);
  const ms = c.max_shape;
  if (ms !== undefined && (!Array.isArray(ms) || ms.length !== 4)) throw new CheckpointError(file, `config.max_shape must be 4 integers, got ${JSON.stringify(ms)}`);
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
  return { max_shape: [...c.maxShape], num_classes: c.numClasses, hypernet: 'gatedgnn', decoder: 'conv', weight_norm: c.weightNorm, ve: c.sMax > 1, layernorm: c.layernorm, hid: c.hid };
}

/**
 * A GHN-2 from a safetensors file in ppuda's layout (state_dict names, PyTorch shapes, the
 * constructor arguments as JSON in `config` metadata): the file the fixture script writes, or
 * a ppuda / ghn3 checkpoint converted with scripts/convert_ghn_checkpoint.py. Every tensor is
 * checked (present, right shape, no extras) before any is used.
 */
export function ghnFromSafetensors(file: SafetensorsFile, label = 'GHN file'): GHN2 {
  const meta = file.metadata;
  if (meta.format !== undefined && meta.format !== GHN_FORMAT) throw new CheckpointError(label, `metadata format is '${meta.format}', expected '${GHN_FORMAT}'`);
  if (meta.config === undefined) throw new CheckpointError(label, "no 'config' metadata entry (ppuda's GHN constructor arguments as JSON); convert checkpoints with scripts/convert_ghn_checkpoint.py");
  let cfg: PpudaConfig;
  try {
    cfg = JSON.parse(meta.config) as PpudaConfig;
  } catch (e) {
    throw new CheckpointError(label, `'config' metadata is not JSON: ${(e as Error).message}`);
  }
  const ghn = new GHN2(configFromPpuda(cfg, label));
  try {
    const names = new Set(ghn.params.map((p) => p.name));
    const extra = Object.keys(file.tensors).filter((n) => !names.has(n));
    if (extra.length) throw new CheckpointError(label, `tensors this GHN does not have: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`);
    for (const p of ghn.params) {
      const t = file.tensors[p.name];
      if (!t) throw new CheckpointError(label, `tensor '${p.name}' is missing`);
      if (!sameShape(t.shape, p.shape)) throw new CheckpointError(label, `tensor '${p.name}' has shape [${t.shape.join(', ')}], the GHN needs [${p.shape.join(', ')}]`);
    }
    const { tensors } = safetensorsToTensors(file, { file: label });
    const own = ghn.ownWeights();
    for (const p of ghn.params) (own[p.name] as tf.Variable).assign(tensors[p.name]!);
    tf.dispose(Object.values(tensors));
    return ghn;
  } catch (e) {
    ghn.dispose();
    throw e;
  }
}

/** Reads a GHN safetensors file (see ghnFromSafetensors). */
export async function loadGhn(path: string): Promise<GHN2> {
  return ghnFromSafetensors(await readSafetensorsFile(path), path);
}

/** Decodes GHN safetensors bytes (browser or Node). */
export function loadGhnFromBytes(bytes: Uint8Array, label = 'GHN bytes'): GHN2 {
  return ghnFromSafetensors(decodeSafetensors(bytes, { file: label }), label);
}

/** The GHN's variables in ppuda's layout, with its config: readable by loadGhn and by ppuda (after torch.load of the tensors). */
export async function ghnToSafetensors(ghn: GHN2, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  return tensorsToSafetensors(ghn.ownWeights(), { ...metadata, format: GHN_FORMAT, config: JSON.stringify(ppudaConfig(ghn)) });
}

/** Writes a GHN atomically (temp file, fsync, rename). */
export async function saveGhn(ghn: GHN2, path: string, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, await ghnToSafetensors(ghn, metadata));
}
