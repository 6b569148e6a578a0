import * as tf from '@tensorflow/tfjs-core';
import { numel, type ParamSpec, type Weights } from './params.js';
import { Rng } from './random.js';
import { ConfigError } from './errors/index.js';

/** How weight tensors are drawn. `auto`: Kaiming for ReLU-family activations, Xavier otherwise. */
export type InitScheme = 'auto' | 'kaiming-normal' | 'kaiming-uniform' | 'xavier-normal' | 'xavier-uniform';

const RELU_LIKE = new Set(['relu', 'elu', 'leaky-relu', 'leakyRelu', 'gelu', 'gelu-tanh', 'silu', 'swish']);

/**
 * The variance a target's own init gives a tensor of this spec. Hypernetwork inits
 * (hyperfan-in/out) aim for it; tests compare generated weights against it.
 */
export function targetVariance(spec: ParamSpec, scheme: InitScheme = 'auto'): number {
  switch (spec.kind) {
    case 'bias':
    case 'norm-shift':
    case 'norm-scale':
      return 0;
    case 'embedding':
      return 1;
    default: {
      const s = resolveScheme(spec, scheme);
      if (s.startsWith('kaiming')) return 2 / spec.fanIn;
      return 2 / (spec.fanIn + spec.fanOut);
    }
  }
}

function resolveScheme(spec: ParamSpec, scheme: InitScheme): Exclude<InitScheme, 'auto'> {
  if (scheme !== 'auto') return scheme;
  return spec.activation && RELU_LIKE.has(spec.activation) ? 'kaiming-normal' : 'xavier-uniform';
}

/**
 * The values of one tensor drawn for `spec` (Kaiming/Xavier for weights, zeros/ones for
 * bias/norm), as a plain array: the same draws as `initTensor` (one seed from `rng` where it
 * draws), so init code can compute statistics of its values without reading tensors back.
 */
export function initArray(spec: ParamSpec, rng: Rng, scheme: InitScheme = 'auto'): Float32Array {
  const shape = [...spec.shape];
  switch (spec.kind) {
    case 'bias':
    case 'norm-shift':
      return new Float32Array(numel(shape));
    case 'norm-scale':
      return new Float32Array(numel(shape)).fill(1);
    case 'embedding':
      return rng.normalArray(shape, 0, 1);
    case 'weight':
    case 'recurrent-weight':
    case 'other': {
      if (!(spec.fanIn > 0) || !(spec.fanOut > 0))
        throw new ConfigError(`${spec.name}.fanIn`, 'weights need positive fanIn and fanOut to be initialised');
      const s = resolveScheme(spec, scheme);
      const v = s.startsWith('kaiming') ? 2 / spec.fanIn : 2 / (spec.fanIn + spec.fanOut);
      if (s.endsWith('normal')) return rng.normalArray(shape, 0, Math.sqrt(v));
      const lim = Math.sqrt(3 * v);
      return rng.uniformArray(shape, -lim, lim);
    }
  }
}

/** One tensor drawn for `spec` (Kaiming/Xavier for weights, zeros/ones for bias/norm); see initArray. */
export function initTensor(spec: ParamSpec, rng: Rng, scheme: InitScheme = 'auto'): tf.Tensor {
  return tf.tensor(initArray(spec, rng, scheme), [...spec.shape], 'float32');
}

/** Fresh weights for every spec, in order (one rng draw sequence → reproducible). */
export function initWeights(specs: readonly ParamSpec[], rng: Rng, scheme: InitScheme = 'auto'): Weights {
  const out: Weights = {};
  for (const s of specs) out[s.name] = initTensor(s, rng, scheme);
  return out;
}

/**
 * Trainable variables for a TargetNet's own weights — the baseline every hypernetwork is
 * compared against (train the target directly).
 */
export function createVariables(
  specs: readonly ParamSpec[],
  rng: Rng,
  scheme: InitScheme = 'auto',
  prefix = '',
): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const s of specs) {
    const t = initTensor(s, rng, scheme);
    // tfjs variable names are process-global: leave them unnamed (unique) unless a prefix is given.
    out[s.name] = tf.variable(t, true, prefix ? `${prefix}${s.name}` : undefined);
    t.dispose();
  }
  return out;
}
