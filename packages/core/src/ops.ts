import * as tf from '@tensorflow/tfjs-core';
import { ShapeMismatchError } from './errors.js';

/**
 * Building blocks shared by the target networks. Each takes weights that are either shared
 * (the ParamSpec shape) or per-sample (a leading batch dimension B equal to x's batch).
 */

/**
 * Dense layer. x: [N, ..., in]; w: [in, out] (shared) or [N, in, out] (per-sample);
 * b: [out] or [N, out]. Per-sample runs one batched matmul; shared weights reshape to 2-D
 * (tfjs's BatchMatMul gradient does not reduce broadcast batch dims).
 */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inDim = x.shape[x.rank - 1];
    const ws = w.shape as number[];
    if (w.rank === 2) {
      if (w.shape[0] !== inDim) throw new ShapeMismatchError('linear weight (input dim)', [inDim, ws[1]], ws);
      const lead = x.shape.slice(0, -1);
      let y = tf.matMul(tf.reshape(x, [-1, inDim]), w);
      if (b) y = tf.add(y, b);
      return tf.reshape(y, [...lead, ws[1]]);
    }
    const n = x.shape[0];
    if (w.rank !== 3 || w.shape[0] !== n || w.shape[1] !== inDim)
      throw new ShapeMismatchError('per-sample linear weight', [n, inDim, w.shape[w.rank - 1]], w.shape);
    const mid = x.shape.slice(1, -1);
    const x3 = tf.reshape(x, [n, -1, inDim]);
    let y = tf.matMul(x3, w);
    if (b) y = tf.add(y, tf.reshape(b, [n, 1, -1]));
    return tf.reshape(y, [n, ...mid, ws[2]]);
  });
}

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

/** Layer norm over the last axis (no affine). */
export function layerNormalize(x: tf.Tensor, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  });
}
