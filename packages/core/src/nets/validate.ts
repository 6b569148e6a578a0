/**
 * Config and input checks shared by the target nets (MLP, CNN, ResNet, RNN/LSTM, Transformer).
 * `checkPositiveInt` is public (the other packages validate their configs with it); the rest is internal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import type { Activation } from '../ops/index.js';
import type { Rng } from '../random.js';
import type { ForwardOptions } from '../target.js';

export const ACTIVATIONS: readonly Activation[] = [
  'relu',
  'tanh',
  'sigmoid',
  'elu',
  'gelu',
  'gelu-tanh',
  'leaky-relu',
  'linear',
  'silu',
];

export function checkPositiveInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new ConfigError(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** null when v is undefined or null, else v checked as a positive integer. */
export function checkOptionalPositiveInt(field: string, v: unknown): number | null {
  return v === undefined || v === null ? null : checkPositiveInt(field, v);
}

export function checkActivation(field: string, v: unknown): Activation {
  if (typeof v !== 'string' || !(ACTIVATIONS as readonly string[]).includes(v))
    throw new ConfigError(field, `unknown activation ${JSON.stringify(v)}; use one of ${ACTIVATIONS.join(', ')}`);
  return v as Activation;
}

export function checkDropout(field: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1))
    throw new ConfigError(field, `must be in [0, 1), got ${JSON.stringify(v)}`);
  return v;
}

/** options.rng, for a net whose dropout is active (training mode, rate > 0); throws when it is missing. */
export function requireRng(options: ForwardOptions, rate: number, owner: string): Rng {
  if (!options.rng)
    throw new ConfigError(
      'options.rng',
      `${owner} has dropout ${rate} and runs in training mode: pass options.rng (new Rng(seed)) for the masks`,
    );
  return options.rng;
}

/** Inverted dropout; needs options.rng when it is active. */
export function dropout(x: tf.Tensor, rate: number, options: ForwardOptions, owner: string): tf.Tensor {
  if (!options.training || rate === 0) return x;
  return tf.mul(x, requireRng(options, rate, owner).dropoutMask([...x.shape], rate));
}

/** Leading batch size of x, checked against the per-sample weight batch. */
export function checkBatch(x: tf.Tensor, batch: number | null, owner: string): void {
  if (batch !== null && x.shape[0] !== batch)
    throw new ShapeMismatchError(
      `input of ${owner} (per-sample weights)`,
      [batch, ...x.shape.slice(1)],
      x.shape,
      `the weights carry a batch of ${batch} weight sets: x needs one sample per weight set`,
    );
}
