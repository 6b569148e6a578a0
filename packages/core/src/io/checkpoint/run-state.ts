import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../../errors/index.js';
import { Rng } from '../../random.js';
import type { NetState } from '../../state.js';
import { clip, preview } from '../bounded-json.js';
import { describeError } from '../node.js';
import { NO_FILE, OPTIMIZER_PREFIX, STATE_PREFIX, type NamedTensor, type OptimizerMeta } from './meta.js';

// What a checkpoint holds besides the model: optimizer slots, NetState entries, the RNG state.

export interface OptimizerState {
  /** Slots by `optimizer/<name>` (the optimizer's own variables: do not dispose). */
  tensors: Record<string, tf.Tensor>;
  meta: OptimizerMeta;
}

export async function optimizerWeights(optimizer: tf.Optimizer, file: string): Promise<NamedTensor[]> {
  let weights: NamedTensor[];
  try {
    weights = await optimizer.getWeights();
  } catch (e) {
    throw new CheckpointError(
      file,
      `optimizer ${optimizer.getClassName()} cannot export its state (${describeError(e)}); ` +
        'use an optimizer that implements getWeights/setWeights (sgd, momentum, adam, adagrad, rmsprop, adadelta)',
      { cause: e },
    );
  }
  // tfjs puts the iteration counter first, as a fresh scalar
  if (weights[0]?.name === 'iter') {
    weights[0].tensor.dispose();
    return weights.slice(1);
  }
  return weights;
}

/** An optimizer's slots under `optimizer/` names, and its class and iteration counter. */
export async function optimizerState(optimizer: tf.Optimizer, { file = NO_FILE } = {}): Promise<OptimizerState> {
  const weights = await optimizerWeights(optimizer, file);
  const tensors: Record<string, tf.Tensor> = {};
  for (const w of weights) {
    const key = OPTIMIZER_PREFIX + w.name;
    if (Object.hasOwn(tensors, key)) throw new CheckpointError(file, `optimizer slot name '${w.name}' occurs twice`);
    tensors[key] = w.tensor;
  }
  const config = optimizer.getConfig() as Record<string, unknown>;
  return {
    tensors,
    meta: {
      className: optimizer.getClassName(),
      iterations: optimizer.iterations,
      weights: weights.map((w) => w.name),
      config: JSON.parse(JSON.stringify(config)) as Record<string, unknown>,
    },
  };
}

/** NetState entries as `state/<condition>/<name>` (views of its variables). */
export function netStateTensors(state: NetState): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(state.toNamedTensors())) out[STATE_PREFIX + k] = t;
  return out;
}

/**
 * The generator a saved state continues, checked: pure-rand throws a plain Error for a state of
 * the wrong length and silently truncates non-32-bit values, so the state must also read back
 * unchanged (and not be all zeros, which xoroshiro never leaves).
 */
export function rngFromState(state: unknown, file: string): Rng {
  const bad = (why: string): never => {
    throw new CheckpointError(file, `meta.rng ${preview(state)} is not a saved random generator state (${why})`);
  };
  // Rng's generator (xoroshiro128+) keeps its state as signed 32-bit integers
  if (!Array.isArray(state) || state.length === 0 || !state.every((x) => typeof x === 'number' && x === (x | 0)))
    bad('expected a non-empty array of 32-bit integers');
  const s = state as number[];
  let back: number[] = [];
  let rng: Rng | undefined;
  try {
    rng = new Rng(s);
    back = rng.getState();
  } catch (e) {
    bad(clip(describeError(e)));
  }
  if (back.length !== s.length || back.some((x, i) => x !== s[i])) bad('values out of range for the generator');
  if (back.every((x) => x === 0)) bad('all zeros');
  return rng!;
}
