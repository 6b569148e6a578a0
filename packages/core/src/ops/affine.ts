import * as tf from '@tensorflow/tfjs-core';

/**
 * Per-feature affine map after normalisation: y = x·γ + β, with γ/β shared [C] or per-sample
 * [N, C] (broadcast over the middle dims of x).
 */
export function affine(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (gamma.rank === 1) return tf.add(tf.mul(x, gamma), beta);
    const shape = [x.shape[0], ...new Array(x.rank - 2).fill(1), x.shape[x.rank - 1]];
    return tf.add(tf.mul(x, tf.reshape(gamma, shape)), tf.reshape(beta, shape));
  });
}
