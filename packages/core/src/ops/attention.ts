import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';

/** Default value of masked attention scores; softmax turns it into an exact 0 in float32. */
const MASKED = -1e9;

/** Options of {@link multiHeadAttention}. */
export interface AttentionOptions {
  /** Each query sees only the keys at or before its own position (the later ones are masked). */
  causal?: boolean;
  /** Added to the scaled scores before masking, e.g. per-head relative-position or edge biases; broadcastable to [N, h, T, T]. */
  bias?: tf.Tensor;
  /** bool, broadcastable to [N, h, T, T]: false where a query may not attend to a key. */
  mask?: tf.Tensor;
  /**
   * What masked scores (`mask` false, or above the diagonal when `causal`) are set to before the
   * softmax, as PyTorch's masked_fill; default −1e9. A row whose keys are all masked gets uniform
   * probabilities, as in PyTorch.
   */
  maskedValue?: number;
  /** Applied to the attention probabilities [N, h, T, T] (e.g. dropout). */
  dropProbs?: (p: tf.Tensor) => tf.Tensor;
}

/**
 * Multi-head self-attention core on projected q, k, v [N, T, d] (no projections): per head,
 * softmax(masked_fill(q·kᵀ/√dh + bias))·v, heads concatenated back to [N, T, d]. The d channels
 * are split as [h, dh] (head-major): head i is channels i·dh … (i + 1)·dh − 1.
 *
 * @throws ConfigError when `numHeads` does not divide d, when `mask` is not bool or `maskedValue` is NaN.
 * @throws ShapeMismatchError when q is not [N, T, d], k or v differ from q, or `bias` or `mask` does not broadcast to [N, h, T, T].
 */
export function multiHeadAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  numHeads: number,
  options: AttentionOptions = {},
): tf.Tensor {
  const { causal = false, bias, mask, maskedValue = MASKED, dropProbs } = options;
  if (q.rank !== 3) throw new ShapeMismatchError('multiHeadAttention q [N, T, d]', [-1, -1, -1], q.shape);
  const [n, t, d] = q.shape as [number, number, number];
  for (const [what, a] of Object.entries({ k, v }))
    if (!sameShape(a.shape, q.shape))
      throw new ShapeMismatchError(
        `multiHeadAttention ${what}`,
        q.shape,
        a.shape,
        'q, k and v must have the same shape',
      );
  if (!Number.isInteger(numHeads) || numHeads < 1 || d % numHeads !== 0)
    throw new ConfigError('numHeads', `multiHeadAttention: ${d} features do not split into ${numHeads} heads`);
  const full = [n, numHeads, t, t];
  if (bias && !broadcastsTo(bias.shape, full))
    throw new ShapeMismatchError('attention bias', full, bias.shape, 'it must broadcast to [N, heads, T, T]');
  if (mask) {
    if (mask.dtype !== 'bool') throw new ConfigError('mask', `must be a bool tensor, found ${mask.dtype}`);
    if (!broadcastsTo(mask.shape, full))
      throw new ShapeMismatchError('attention mask', full, mask.shape, 'it must broadcast to [N, heads, T, T]');
  }
  if (Number.isNaN(maskedValue)) throw new ConfigError('maskedValue', 'must be a number, got NaN');

  return tf.tidy(() => {
    const dh = d / numHeads;
    const heads = (a: tf.Tensor) => tf.transpose(tf.reshape(a, [n, t, numHeads, dh]), [0, 2, 1, 3]); // [N, h, T, dh]
    // Equal batch dims [N, h] on both operands: no broadcast inside BatchMatMul.
    let scores = tf.mul(tf.matMul(heads(q), heads(k), false, true), 1 / Math.sqrt(dh)); // [N, h, T, T]
    if (bias) scores = tf.add(scores, bias);
    let keep = mask;
    if (causal) keep = keep ? tf.logicalAnd(keep, causalKeep(t)) : causalKeep(t);
    // masked_fill: with the default −1e9 the probabilities equal those of adding −1e9 (both are an exact 0).
    if (keep) scores = tf.where(keep, scores, tf.scalar(maskedValue));
    let probs = tf.softmax(scores);
    if (dropProbs) probs = dropProbs(probs);
    const out = tf.matMul(probs, heads(v)); // [N, h, T, dh]
    return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [n, t, d]);
  });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** NumPy broadcasting of `shape` to `target` (aligned on the right, each dim equal or 1). */
function broadcastsTo(shape: readonly number[], target: readonly number[]): boolean {
  const o = target.length - shape.length;
  return o >= 0 && shape.every((s, i) => s === 1 || s === target[o + i]);
}

/** [T, T] bool: true where key ≤ query, false above the diagonal. */
function causalKeep(t: number): tf.Tensor {
  const m = new Uint8Array(t * t);
  for (let i = 0; i < t; i++) m.fill(1, i * t, i * t + i + 1);
  return tf.tensor2d(m, [t, t], 'bool');
}
