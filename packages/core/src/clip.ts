import * as tf from '@tensorflow/tfjs-core';
import { tidy } from './memory.js';

/**
 * torch.nn.utils.clip_grad_norm_: when the global L2 norm of `grads` exceeds `maxNorm`, every
 * gradient is scaled by maxNorm / (norm + 1e-6). Nulls (variables that got no gradient) stay
 * null. Returns the new gradients and the norm before clipping (a scalar tensor); nothing is
 * read back.
 */
export function clipByGlobalNorm(
  grads: readonly (tf.Tensor | null)[],
  maxNorm: number,
): { grads: (tf.Tensor | null)[]; norm: tf.Scalar } {
  return tidy(() => {
    const present = grads.filter((t): t is tf.Tensor => t !== null);
    const norm = (
      present.length === 0 ? tf.scalar(0) : tf.sqrt(tf.addN(present.map((t) => tf.sum(tf.square(t)))))
    ) as tf.Scalar;
    const coef = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    return { grads: grads.map((t) => (t === null ? null : tf.mul(t, coef))), norm };
  });
}
