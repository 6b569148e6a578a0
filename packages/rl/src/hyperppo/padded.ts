import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, linear } from '@hypernets/core';
import type { GeneratedPolicy } from './mlp-ghn.js';

/** M policies of different shapes as one stack: per layer a weight [M, in, out] and a bias [M, out]. */
export interface PaddedPolicies {
  weights: tf.Tensor3D[];
  biases: tf.Tensor2D[];
}

/**
 * Stacks ReLU-MLP policies of different depths and widths into one padded stack that computes
 * each policy exactly, so that all of them run in one batched pass:
 * - widths: every layer is padded to the widest policy's width at that depth with zero weights
 *   and zero biases; a padded unit computes ReLU(0) = 0 and its outgoing weights are zero;
 * - depths: a policy shallower than the deepest gets identity layers (weight I, bias 0) after its
 *   last hidden layer; ReLU(I·h) = h because h is already a ReLU's output (h ≥ 0), so its last
 *   hidden activations reach the output layer unchanged.
 * The padding costs compute (every policy pays for the widest), not exactness.
 */
export function padPolicies(policies: readonly GeneratedPolicy[]): PaddedPolicies {
  if (policies.length === 0) throw new ConfigError('policies', 'needs at least one policy');
  return tf.tidy(() => {
    const D = Math.max(...policies.map((p) => p.hidden.length));
    const eff = (p: GeneratedPolicy, l: number) => p.hidden[Math.min(l, p.hidden.length - 1)]!;
    const P = Array.from({ length: D }, (_, l) => Math.max(...policies.map((p) => eff(p, l))));
    const weights: tf.Tensor3D[] = [];
    const biases: tf.Tensor2D[] = [];
    for (let l = 0; l <= D; l++) {
      const ws: tf.Tensor2D[] = [];
      const bs: tf.Tensor1D[] = [];
      for (const p of policies) {
        const L = p.hidden.length;
        const rows = l === 0 ? p.weights[0]!.shape[0] : P[l - 1]!;
        const cols = l === D ? p.weights[L]!.shape[1] : P[l]!;
        let w: tf.Tensor2D;
        let b: tf.Tensor1D;
        if (l < L || l === D) {
          const k = l === D ? L : l; // the policy's own layer
          w = p.weights[k]!;
          b = p.biases[k]!;
        } else {
          const n = eff(p, l);
          w = tf.eye(n) as tf.Tensor2D;
          b = tf.zeros([n]) as tf.Tensor1D;
        }
        ws.push(
          tf.pad(w, [
            [0, rows - w.shape[0]],
            [0, cols - w.shape[1]],
          ]) as tf.Tensor2D,
        );
        bs.push(tf.pad(b, [[0, cols - b.shape[0]]]) as tf.Tensor1D);
      }
      weights.push(tf.stack(ws) as tf.Tensor3D);
      biases.push(tf.stack(bs) as tf.Tensor2D);
    }
    return { weights, biases } as unknown as tf.TensorContainer;
  }) as unknown as PaddedPolicies;
}

/** Runs the M padded policies on their own observations x [M, n, obs]: [M, n, out] (ReLU hidden, linear output). */
export function paddedForward(x: tf.Tensor3D, padded: PaddedPolicies): tf.Tensor3D {
  const M = padded.weights[0]!.shape[0];
  if (x.rank !== 3 || x.shape[0] !== M || x.shape[2] !== padded.weights[0]!.shape[1])
    throw new ConfigError(
      'paddedForward',
      `needs observations [${M}, n, ${padded.weights[0]!.shape[1]}] (one group per policy), got [${x.shape.join(', ')}]`,
    );
  return tf.tidy(() => {
    let h: tf.Tensor = x;
    const last = padded.weights.length - 1;
    padded.weights.forEach((w, l) => {
      h = linear(h, w, padded.biases[l]);
      if (l < last) h = tf.relu(h);
    });
    return h as tf.Tensor3D;
  });
}

/** Disposes a padded stack. */
export function disposePadded(p: PaddedPolicies): void {
  tf.dispose([...p.weights, ...p.biases]);
}
