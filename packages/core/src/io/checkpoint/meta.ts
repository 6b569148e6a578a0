import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { CheckpointError } from '../../errors/index.js';
import type { ParamSpec } from '../../params.js';
import { MAX_JSON_DEPTH, arrayOf, clip, intArray } from '../bounded-json.js';

/** What tfjs optimizers' getWeights/setWeights and tf.io.encodeWeights take. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/**
 * Checkpoints: `<name>.safetensors` (every tensor) + `<name>.json` (metadata: config,
 * ParamSpecs, step, optimizer and RNG state, and the size and SHA-256 of the tensors file).
 * Both are committed together (temps, fsync, then renames, JSON last); the recorded hash lets
 * a loader reject a pair that a crash or a copy mixed up.
 */

export const CHECKPOINT_FORMAT = 'hypernets-checkpoint';
export const CHECKPOINT_VERSION = 1;
/** Tensor names under these prefixes hold optimizer slots and NetState entries. */
export const OPTIMIZER_PREFIX = 'optimizer/';
export const STATE_PREFIX = 'state/';

/** A tfjs optimizer's state: class, iteration counter, and its slot names in setWeights order. */
export interface OptimizerMeta {
  className: string;
  /** The optimizer's iteration counter (Adam's bias correction depends on it). */
  iterations: number;
  /** Slot names in `getWeights()` order (iteration counter excluded); tensors are `optimizer/<name>`. */
  weights: string[];
  /** `optimizer.getConfig()`, for reference. */
  config?: Record<string, unknown>;
}

export interface NetStateMeta {
  /** `${condition}/${name}` of every NetState entry; tensors are `state/<entry>`. */
  entries: string[];
}

/** Checkpoint metadata: the known fields, plus any JSON the caller adds. */
export interface CheckpointMeta {
  step?: number;
  config?: unknown;
  paramSpecs?: ParamSpec[];
  optimizer?: OptimizerMeta;
  /** `Rng.getState()`. */
  rng?: number[];
  state?: NetStateMeta;
  [key: string]: unknown;
}

const paramSpecSchema = z
  .object({
    name: z.string().min(1),
    shape: intArray({ nonnegative: true }),
    kind: z.string().min(1),
    layer: z.number().int(),
    fanIn: z.number().nonnegative(),
    fanOut: z.number().nonnegative(),
    activation: z.string().optional(),
  })
  .passthrough();

const optimizerMetaSchema = z.object({
  className: z.string().min(1),
  iterations: z.number().int().nonnegative(),
  weights: arrayOf(z.string().min(1)),
  config: z.record(z.unknown()).optional(),
});

export const metaSchema = z
  .object({
    step: z.number().int().nonnegative().optional(),
    config: z.unknown().optional(),
    // arrayOf/intArray, not z.array: they stop at the first bad element instead of making an
    // issue for each of a hostile file's million elements
    paramSpecs: arrayOf(paramSpecSchema).optional(),
    optimizer: optimizerMetaSchema.optional(),
    rng: intArray({ min: 1 }).optional(),
    state: z.object({ entries: arrayOf(z.string().min(1)) }).optional(),
  })
  .passthrough();

export const envelopeSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(CHECKPOINT_VERSION),
  tensors: z.object({
    file: z.string().min(1),
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  }),
  meta: metaSchema,
});

export type Envelope = z.infer<typeof envelopeSchema>;

export function zodDetail(error: z.ZodError, root: string): string {
  const issues = error.issues
    .slice(0, 5)
    .map((i) => `${clip([root, ...i.path].filter((p) => p !== '').join('.')) || '(root)'}: ${clip(i.message)}`);
  return issues.join('; ') + (error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : '');
}

/**
 * Rejects what JSON cannot carry faithfully (NaN, bigint, functions, class instances, cycles) and
 * nesting deeper than readers accept (the file adds one level above `meta`).
 */
export function checkJson(value: unknown, where: string, file: string, seen: unknown[] = []): void {
  const bad = (what: string) => {
    throw new CheckpointError(file, `${clip(where)}: ${what} cannot be stored in JSON metadata`);
  };
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) bad(String(value));
      return;
    case 'object': {
      if (value === null) return;
      if (seen.includes(value)) bad('a circular reference');
      if (seen.length + 2 > MAX_JSON_DEPTH) bad(`nesting deeper than ${MAX_JSON_DEPTH} levels (readers reject it)`);
      seen.push(value);
      if (Array.isArray(value)) value.forEach((v, i) => checkJson(v, `${where}[${i}]`, file, seen));
      else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null)
          bad(`an instance of ${(value as object).constructor?.name ?? 'a class'}`);
        for (const [k, v] of Object.entries(value)) if (v !== undefined) checkJson(v, `${where}.${k}`, file, seen);
      }
      seen.pop();
      return;
    }
    default:
      bad(`a ${typeof value}`);
  }
}

export const NO_FILE = '<checkpoint>';

/** Largest checkpoint.json read (well under V8's longest string). */
export const MAX_META_BYTES = 256 * 1024 * 1024;
