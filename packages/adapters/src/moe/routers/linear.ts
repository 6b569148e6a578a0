import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@hypernets/core';
import type { MoeRouter } from './router.js';

/**
 * A linear router per block, W_r ~ N(0, 0.02²), b_r = 0 (the reference code's `weights_init`):
 * trained (SMoE) or frozen at its random init (SMoE-Dropout: Chen et al., ICLR 2023, whose
 * `--freeze_gate` keeps the random router fixed while k rises during training).
 * Variables: `moe.<block>.router.weight` [d, E], `moe.<block>.router.bias` [E].
 */
export function linearRouter(
  kind: 'smoe' | 'smoe-dropout',
  blocks: number,
  d: number,
  experts: number,
  rng: Rng,
  std = 0.02,
): MoeRouter {
  const variables: Record<string, tf.Variable> = {};
  const trainable = kind === 'smoe';
  for (let b = 0; b < blocks; b++) {
    variables[`moe.${b}.router.weight`] = tf.tidy(() =>
      tf.variable(tf.tensor2d(rng.normalArray([d, experts], 0, std), [d, experts]), trainable),
    );
    variables[`moe.${b}.router.bias`] = tf.tidy(() => tf.variable(tf.zeros([experts]), trainable));
  }
  return {
    kind,
    variables,
    trainable: trainable ? Object.keys(variables) : [],
    weights: (b) => ({ weight: variables[`moe.${b}.router.weight`]!, bias: variables[`moe.${b}.router.bias`]! }),
  };
}
