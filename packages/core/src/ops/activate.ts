import * as tf from '@tensorflow/tfjs-core';

export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'elu' | 'gelu' | 'leaky-relu' | 'linear' | 'silu';

export function activate(x: tf.Tensor, act: Activation): tf.Tensor {
  switch (act) {
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'elu':
      return tf.elu(x);
    case 'leaky-relu':
      return tf.leakyRelu(x, 0.01);
    case 'silu':
      return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
    case 'gelu':
      // tanh approximation (Hendrycks & Gimpel); every op has a gradient on every backend.
      return tf.tidy(() => {
        const c = Math.sqrt(2 / Math.PI);
        const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c);
        return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
      });
    case 'linear':
      return x;
  }
}
