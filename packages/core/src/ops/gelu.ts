import * as tf from '@tensorflow/tfjs-core';

/**
 * GELU as the field names it: `gelu` is the exact x·Φ(x) = 0.5·x·(1 + erf(x/√2)) (PyTorch's
 * nn.GELU() default, tfjs-layers' 'gelu'); `geluTanh` is the tanh approximation of Hendrycks &
 * Gimpel (nn.GELU(approximate='tanh'), GPT-2's and tfjs-layers' 'gelu_new'). Every op in both
 * has a gradient on every backend.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

/** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const c = Math.sqrt(2 / Math.PI);
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c);
    return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
  });
}
