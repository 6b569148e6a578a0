import * as tf from '@tensorflow/tfjs-core';
import { ShapeMismatchError } from '../errors/index.js';

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
