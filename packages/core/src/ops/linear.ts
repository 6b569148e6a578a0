import * as tf from '@tensorflow/tfjs-core';
import { ShapeMismatchError } from '../errors/index.js';

/**
 * Dense layer. x: [N, ..., in]; w: [in, out] (shared) or [N, in, out] (per-sample);
 * b: [out] or [N, out]. Per-sample runs one batched matmul; shared weights reshape to 2-D
 * (tfjs's BatchMatMul gradient does not reduce broadcast batch dims), and a 2-D x skips the
 * reshapes (one matmul per step in recurrent loops).
 */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inDim = x.shape[x.rank - 1];
    const ws = w.shape as number[];
    if (w.rank === 2) {
      if (w.shape[0] !== inDim) throw new ShapeMismatchError('linear weight (input dim)', [inDim, ws[1]], ws);
      const lead = x.shape.slice(0, -1);
      let y = tf.matMul(x.rank === 2 ? x : tf.reshape(x, [-1, inDim]), w);
      if (b) y = tf.add(y, b);
      return x.rank === 2 ? y : tf.reshape(y, [...lead, ws[1]]);
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
 * Dense layer with PyTorch's weight layout (nn.Linear): x [..., in]; w [out, in] (shared) or
 * [N, out, in] (per-sample); b [out] or [N, out]. y = x·wᵀ + b, with linear's reshapes (2-D
 * product for shared weights: tfjs's BatchMatMul gradient does not reduce broadcast batch dims).
 */
export function linearTorch(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inDim = x.shape[x.rank - 1];
    const ws = w.shape as number[];
    if (w.rank === 2) {
      if (w.shape[1] !== inDim) throw new ShapeMismatchError('linear weight [out, in] (input dim)', [ws[0], inDim], ws);
      const lead = x.shape.slice(0, -1);
      let y = tf.matMul(x.rank === 2 ? x : tf.reshape(x, [-1, inDim]), w, false, true);
      if (b) y = tf.add(y, b);
      return x.rank === 2 ? y : tf.reshape(y, [...lead, ws[0]]);
    }
    const n = x.shape[0];
    if (w.rank !== 3 || w.shape[0] !== n || w.shape[2] !== inDim)
      throw new ShapeMismatchError('per-sample linear weight [N, out, in]', [n, w.shape[w.rank - 2], inDim], w.shape);
    const mid = x.shape.slice(1, -1);
    let y = tf.matMul(tf.reshape(x, [n, -1, inDim]), w, false, true);
    if (b) y = tf.add(y, tf.reshape(b, [n, 1, -1]));
    return tf.reshape(y, [n, ...mid, ws[1]]);
  });
}
