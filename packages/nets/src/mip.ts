import * as tf from '@tensorflow/tfjs-core';

/**
 * Magnitude Invariant Parametrization input encoding (Ortiz, Guttag & Dalca, "Magnitude
 * Invariant Parametrizations Improve Hypernetwork Learning", ICLR 2024): every condition
 * value γ ∈ [0, 1] becomes [cos(πγ/2), sin(πγ/2)], so the encoding has unit norm per input
 * dimension whatever γ is, and the hypernetwork's activations do not scale with |γ|.
 * x: [N, d] → [N, 2d] laid out [cos(γ₁), …, cos(γ_d), sin(γ₁), …, sin(γ_d)].
 */
export function mipEncode(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.mul(x, Math.PI / 2);
    return tf.concat([tf.cos(a), tf.sin(a)], x.rank - 1);
  });
}
