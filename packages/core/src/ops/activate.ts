import * as tf from '@tensorflow/tfjs-core';
import { gelu, geluTanh } from './gelu.js';

/** 'gelu' is the exact (erf) GELU, 'gelu-tanh' its tanh approximation (see gelu.ts). */
export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'elu' | 'gelu' | 'gelu-tanh' | 'leaky-relu' | 'linear' | 'silu';

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
      return gelu(x);
    case 'gelu-tanh':
      return geluTanh(x);
    case 'linear':
      return x;
  }
}
