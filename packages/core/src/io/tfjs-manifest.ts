import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { CheckpointError } from '../errors/index.js';
import { arrayOf, intArray, quoteName } from './bounded-json.js';

/** The model.json schema of the TensorFlow.js format and the stored size of each weight. */

export type WeightsManifestEntry = tf.io.WeightsManifestEntry;

/** Largest model.json read (well under V8's longest string). */
export const MAX_MODEL_JSON_BYTES = 256 * 1024 * 1024;

const entrySchema = z
  .object({
    name: z.string().min(1),
    shape: intArray({ nonnegative: true }),
    dtype: z.enum(['float32', 'int32', 'bool', 'string', 'complex64']),
    group: z.string().optional(),
    quantization: z
      .object({
        dtype: z.enum(['uint8', 'uint16', 'float16']),
        scale: z.number().optional(),
        min: z.number().optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

export const modelJsonSchema = z
  .object({
    modelTopology: z.unknown().optional(),
    // arrayOf/intArray stop at the first bad element (z.array makes an issue for every one)
    weightsManifest: arrayOf(
      z.object({ paths: arrayOf(z.string().min(1), { min: 1 }), weights: arrayOf(entrySchema) }).passthrough(),
    ),
    format: z.string().optional(),
    generatedBy: z.string().optional(),
    convertedBy: z.string().nullable().optional(),
    trainingConfig: z.unknown().optional(),
    userDefinedMetadata: z.record(z.unknown()).optional(),
    signature: z.unknown().optional(),
    modelInitializer: z.unknown().optional(),
    initializerSignature: z.unknown().optional(),
  })
  .passthrough();

export type ModelJson = z.infer<typeof modelJsonSchema>;

const VALUE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes per element as stored (quantized size when quantized); 0 for strings (variable). */
export function storedBytes(e: WeightsManifestEntry, where: string, file: string): number {
  const q = e.quantization;
  if (q) {
    if ((q.dtype === 'uint8' || q.dtype === 'uint16') && (typeof q.min !== 'number' || typeof q.scale !== 'number'))
      throw new CheckpointError(
        file,
        `${where} (${quoteName(e.name)}): ${q.dtype} quantization needs numeric min and scale`,
      );
    if (q.dtype === 'float16' && e.dtype !== 'float32')
      throw new CheckpointError(
        file,
        `${where} (${quoteName(e.name)}): float16 quantization only applies to float32, not ${e.dtype}`,
      );
    if (e.dtype !== 'float32' && e.dtype !== 'int32')
      throw new CheckpointError(file, `${where} (${quoteName(e.name)}): ${e.dtype} weights cannot be quantized`);
    return VALUE_BYTES[q.dtype];
  }
  return e.dtype === 'string' ? 0 : VALUE_BYTES[e.dtype];
}
