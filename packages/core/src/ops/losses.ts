import * as tf from '@tensorflow/tfjs-core';
import { ShapeMismatchError } from '../errors/index.js';

/**
 * Losses and metrics. Labels are class indices (int32 [N], a number[] or Int32Array) or
 * per-class targets [N, K] (one-hot or soft labels). Losses are differentiable w.r.t. the
 * logits/predictions and never read values back (no dataSync in the hot path).
 */
export type Labels = tf.Tensor | readonly number[] | Int32Array;

function toTargets(logits: tf.Tensor, labels: Labels, what: string): tf.Tensor {
  const k = logits.shape[logits.rank - 1];
  const lead = logits.shape.slice(0, -1);
  if (!(labels instanceof tf.Tensor)) {
    const arr = Array.from(labels as ArrayLike<number>);
    const bad = arr.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= k);
    if (bad >= 0)
      throw new ShapeMismatchError(
        `${what} label ${bad} (value ${arr[bad]})`,
        [0, k - 1],
        [arr[bad]],
        `class indices must lie in [0, ${k - 1}]`,
      );
    labels = tf.tensor1d(arr, 'int32');
  }
  const t = labels as tf.Tensor;
  if (t.rank === logits.rank && t.shape.every((d, i) => d === logits.shape[i])) return tf.cast(t, 'float32');
  if (t.rank === logits.rank - 1 && t.shape.every((d, i) => d === lead[i]))
    return tf.reshape(tf.oneHot(tf.reshape(tf.cast(t, 'int32'), [-1]), k), logits.shape);
  throw new ShapeMismatchError(
    `${what} labels`,
    lead,
    t.shape,
    `pass class indices [${lead.join(', ')}] or targets [${logits.shape.join(', ')}]`,
  );
}

/**
 * Mean softmax cross-entropy over the leading axes: −mean Σ_k t_k · log softmax(logits)_k.
 * Stable for large logits (log-softmax subtracts the max). Out-of-range indices in an int32
 * tensor give a zero row (tf.oneHot) — validate labels at load time.
 */
export function softmaxCrossEntropy(logits: tf.Tensor, labels: Labels): tf.Scalar {
  return tf.tidy(() => {
    const targets = toTargets(logits, labels, 'softmaxCrossEntropy');
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.sum(tf.mul(targets, logp), -1))) as tf.Scalar;
  });
}

/** Mean squared error over all elements. */
export function mse(prediction: tf.Tensor, target: tf.Tensor): tf.Scalar {
  if (prediction.rank !== target.rank || prediction.shape.some((d, i) => d !== target.shape[i]))
    throw new ShapeMismatchError('mse target', prediction.shape, target.shape);
  return tf.tidy(() => tf.mean(tf.squaredDifference(prediction, target)) as tf.Scalar);
}

/** Number of rows whose arg-max matches the label, as a scalar tensor (no read-back). */
export function countCorrect(logits: tf.Tensor, labels: Labels): tf.Scalar {
  return tf.tidy(() => {
    const targets = toTargets(logits, labels, 'accuracy');
    const hit = tf.equal(tf.argMax(logits, -1), tf.argMax(targets, -1));
    return tf.sum(tf.cast(hit, 'float32')) as tf.Scalar;
  });
}

/**
 * Fraction of rows whose arg-max matches the label. Reads one number back with `await data()`
 * (works on WebGPU in Node, where dataSync fails); keep it out of the training step.
 */
export async function accuracy(logits: tf.Tensor, labels: Labels): Promise<number> {
  const c = countCorrect(logits, labels);
  const rows = logits.size / logits.shape[logits.rank - 1];
  try {
    return (await c.data())[0] / rows;
  } finally {
    c.dispose();
  }
}
