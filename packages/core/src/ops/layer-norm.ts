import * as tf from '@tensorflow/tfjs-core';

/** Layer norm over the last axis (no affine). */
export function layerNormalize(x: tf.Tensor, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  });
}
