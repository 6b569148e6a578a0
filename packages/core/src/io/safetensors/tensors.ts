import * as tf from '@tensorflow/tfjs-core';
import { decodeSafetensors, type DecodeOptions } from './decode.js';
import { encodeSafetensors } from './encode.js';
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from './float16.js';
import { DEFAULT_FILE, fail, setEntry, type RawTensor, type SafetensorsFile } from './format.js';

// tf.Tensor ⇄ safetensors

/** The dtype float32 tensors are stored in. */
export type FloatStorage = 'F32' | 'F16' | 'BF16';

export interface TensorsToSafetensorsOptions {
  /** Storage for float32 tensors (int32 → I32 and bool → BOOL always). Default F32. */
  dtype?: FloatStorage;
  file?: string;
}

/**
 * Reads tensors into RawTensors (async `data()`, so GPU-resident tensors work on WebGPU).
 * float32 → F32 (or F16/BF16), int32 → I32, bool → BOOL.
 */
export async function tensorsToRaw(
  tensors: Record<string, tf.Tensor>,
  { dtype = 'F32', file = DEFAULT_FILE }: TensorsToSafetensorsOptions = {},
): Promise<Record<string, RawTensor>> {
  const out: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t instanceof tf.Tensor)) fail(file, `tensor '${name}': not a tf.Tensor`);
    if (t.isDisposed) fail(file, `tensor '${name}': has been disposed`);
    const shape = [...t.shape];
    let raw: RawTensor;
    if (t.dtype === 'float32') {
      const v = (await t.data()) as Float32Array;
      raw =
        dtype === 'F16'
          ? { dtype, shape, data: float32ToFloat16(v) }
          : dtype === 'BF16'
            ? { dtype, shape, data: float32ToBfloat16(v) }
            : { dtype: 'F32', shape, data: v };
    } else if (t.dtype === 'int32') {
      raw = { dtype: 'I32', shape, data: (await t.data()) as Int32Array };
    } else if (t.dtype === 'bool') {
      const v = (await t.data()) as Uint8Array;
      raw = { dtype: 'BOOL', shape, data: v instanceof Uint8Array ? v : Uint8Array.from(v) };
    } else {
      fail(file, `tensor '${name}': dtype ${t.dtype} cannot be stored in safetensors (float32, int32 and bool can)`);
    }
    setEntry(out, name, raw);
  }
  return out;
}

/** Encodes tf tensors as safetensors bytes. */
export async function tensorsToSafetensors(
  tensors: Record<string, tf.Tensor>,
  metadata?: Record<string, string>,
  options: TensorsToSafetensorsOptions = {},
): Promise<Uint8Array> {
  return encodeSafetensors(await tensorsToRaw(tensors, options), metadata, options);
}

interface TfValues {
  values: Float32Array | Int32Array | Uint8Array;
  dtype: 'float32' | 'int32' | 'bool';
}

function toInt32(name: string, raw: RawTensor, file: string): Int32Array {
  const src = raw.data as BigInt64Array | BigUint64Array | Uint32Array;
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v > 2147483647 || v < -2147483648)
      fail(
        file,
        `tensor '${name}' (${raw.dtype}): value ${v} at index ${i} does not fit in int32, ` +
          'the widest integer tfjs has; store it as I32 or F64 instead',
      );
    out[i] = Number(v);
  }
  return out;
}

/** The tfjs dtype and values for a RawTensor: F16/BF16/F64 → float32, integers → int32. */
function toTfValues(name: string, raw: RawTensor, file: string): TfValues {
  const d = raw.data;
  switch (raw.dtype) {
    case 'F32':
      return { values: d as Float32Array, dtype: 'float32' };
    case 'F64':
      return { values: Float32Array.from(d as Float64Array), dtype: 'float32' };
    case 'F16':
      return { values: float16ToFloat32(d as Uint16Array), dtype: 'float32' };
    case 'BF16':
      return { values: bfloat16ToFloat32(d as Uint16Array), dtype: 'float32' };
    case 'I32':
      return { values: d as Int32Array, dtype: 'int32' };
    case 'I64':
    case 'U64':
    case 'U32':
      return { values: toInt32(name, raw, file), dtype: 'int32' };
    case 'I16':
    case 'I8':
    case 'U16':
    case 'U8':
      return { values: Int32Array.from(d as Int16Array), dtype: 'int32' };
    case 'BOOL': {
      const b = d as Uint8Array;
      return { values: b.every((x) => x <= 1) ? b : b.map((x) => (x ? 1 : 0)), dtype: 'bool' };
    }
    default:
      fail(file, `tensor '${name}': unknown dtype '${String(raw.dtype)}'`);
  }
}

/**
 * RawTensors → tf tensors. All conversions (and their range checks) run before the first
 * tensor is created, so an error leaves nothing to dispose.
 */
export function rawToTensors(
  tensors: Record<string, RawTensor>,
  { file = DEFAULT_FILE }: DecodeOptions = {},
): Record<string, tf.Tensor> {
  const converted = Object.entries(tensors).map(
    ([name, raw]) => [name, raw.shape, toTfValues(name, raw, file)] as const,
  );
  const out: Record<string, tf.Tensor> = {};
  for (const [name, shape, { values, dtype }] of converted) setEntry(out, name, tf.tensor(values, shape, dtype));
  return out;
}

/**
 * Decodes safetensors bytes (or an already decoded file) into tf tensors and metadata. On the
 * cpu backend, F32/I32 tensors may share memory with `source`: do not modify it afterwards.
 */
export function safetensorsToTensors(
  source: Uint8Array | SafetensorsFile,
  options: DecodeOptions = {},
): { tensors: Record<string, tf.Tensor>; metadata: Record<string, string> } {
  const decoded = source instanceof Uint8Array ? decodeSafetensors(source, options) : source;
  return { tensors: rawToTensors(decoded.tensors, options), metadata: decoded.metadata };
}
