import * as tf from '@tensorflow/tfjs-core';

/** Added to masked attention scores; softmax turns it into an exact 0 in float32. */
const MASKED = -1e9;

/**
 * Multi-head self-attention core on projected q, k, v [N, T, d] (no projections):
 * softmax(q·kᵀ/√dh + mask)·v per head, heads concatenated back to [N, T, d]. `dropProbs`
 * (optional) is applied to the attention probabilities.
 */
export function multiHeadAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  numHeads: number,
  causal = false,
  dropProbs?: (p: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  return tf.tidy(() => {
    const [n, t, d] = q.shape;
    const dh = d / numHeads;
    const heads = (a: tf.Tensor) => tf.transpose(tf.reshape(a, [n, t, numHeads, dh]), [0, 2, 1, 3]); // [N, h, T, dh]
    // Equal batch dims [N, h] on both operands: no broadcast inside BatchMatMul.
    let scores = tf.mul(tf.matMul(heads(q), heads(k), false, true), 1 / Math.sqrt(dh)); // [N, h, T, T]
    if (causal) scores = tf.add(scores, causalMask(t));
    let probs = tf.softmax(scores);
    if (dropProbs) probs = dropProbs(probs);
    const out = tf.matMul(probs, heads(v)); // [N, h, T, dh]
    return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [n, t, d]);
  });
}

/** [T, T] additive mask: 0 where key ≤ query, MASKED above the diagonal. */
function causalMask(t: number): tf.Tensor {
  const m = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) m[i * t + j] = MASKED;
  return tf.tensor2d(m, [t, t]);
}
