import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, type Rng } from '@hypernets/core';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** log π(a | s) of a categorical over logits [B, n] at integer actions [B] (int32): [B]. */
export function categoricalLogProb(logits: tf.Tensor, actions: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const n = logits.shape[logits.rank - 1]!;
    // a one-hot mask, not a gather: its gradient is a plain product on every backend
    const mask = tf.oneHot(tf.cast(actions, 'int32'), n);
    return tf.sum(tf.mul(tf.logSoftmax(logits), mask), -1) as tf.Tensor1D;
  });
}

/** H = −Σ p log p of a categorical over logits [B, n]: [B]. */
export function categoricalEntropy(logits: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)) as tf.Tensor1D;
  });
}

/**
 * log π(a | s) of a diagonal Gaussian N(mean, exp(logStd)²) at actions [B, d], summed over the d
 * dimensions (torch's `Normal(mean, std).log_prob(a).sum(1)`): [B]. `logStd` is [d] or [B, d].
 */
export function gaussianLogProb(mean: tf.Tensor, logStd: tf.Tensor, actions: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const z = tf.mul(tf.sub(actions, mean), tf.exp(tf.neg(logStd)));
    const perDim = tf.sub(tf.neg(tf.add(tf.mul(tf.square(z), 0.5), logStd)), HALF_LOG_2PI);
    return tf.sum(perDim, -1) as tf.Tensor1D;
  });
}

/** Entropy of a diagonal Gaussian summed over its d dimensions, Σ (½ + ½ log 2π + log σ), for each of `batch` rows: [batch]. */
export function gaussianEntropy(logStd: tf.Tensor, batch: number): tf.Tensor1D {
  return tf.tidy(() => {
    const d = logStd.shape[logStd.rank - 1]!;
    const perRow = tf.add(tf.sum(logStd, -1), d * (0.5 + HALF_LOG_2PI));
    return (perRow.rank === 0 ? tf.add(tf.zeros([batch]), perRow) : perRow) as tf.Tensor1D;
  });
}

/**
 * Draws one action per row from categoricals given by host logits [B, n] (inverse CDF on one
 * uniform of `rng` per row), with its log-probability. Float64 inside.
 */
export function sampleCategorical(
  logits: ArrayLike<number>,
  batch: number,
  n: number,
  rng: Rng,
): { actions: Int32Array; logProbs: Float32Array } {
  const actions = new Int32Array(batch);
  const logProbs = new Float32Array(batch);
  const p = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    let max = -Infinity;
    for (let k = 0; k < n; k++) max = Math.max(max, logits[b * n + k]!);
    let sum = 0;
    for (let k = 0; k < n; k++) sum += p[k] = Math.exp(logits[b * n + k]! - max);
    const u = rng.uniform() * sum;
    let a = n - 1;
    let acc = 0;
    for (let k = 0; k < n; k++) {
      acc += p[k]!;
      if (u < acc) {
        a = k;
        break;
      }
    }
    actions[b] = a;
    logProbs[b] = logits[b * n + a]! - max - Math.log(sum);
  }
  return { actions, logProbs };
}

/**
 * Draws a = mean + σ ε (ε ~ N(0, 1) from `rng`) per row of host means [B, d] with σ = exp(logStd),
 * `logStd` [d] (shared by every row) or [B, d], with its log-probability summed over the d dimensions.
 */
export function sampleGaussian(
  mean: ArrayLike<number>,
  logStd: ArrayLike<number>,
  batch: number,
  rng: Rng,
): { actions: Float32Array; logProbs: Float32Array } {
  const d = mean.length / batch;
  const perRow = logStd.length === batch * d && batch > 1;
  if (!Number.isInteger(d) || (logStd.length !== d && logStd.length !== batch * d))
    throw new ConfigError(
      'sampleGaussian',
      `needs means [${batch}, d] and a log-std [d] or [${batch}, d]; got ${mean.length} means and ${logStd.length} log-stds`,
    );
  const eps = rng.normalArray([batch * d]);
  const actions = new Float32Array(batch * d);
  const logProbs = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    const o = perRow ? b * d : 0;
    let lp = 0;
    for (let j = 0; j < d; j++) {
      const e = eps[b * d + j]!;
      const ls = logStd[o + j]!;
      actions[b * d + j] = mean[b * d + j]! + Math.exp(ls) * e;
      lp -= ls + HALF_LOG_2PI + 0.5 * e * e;
    }
    logProbs[b] = lp;
  }
  return { actions, logProbs };
}

/** The most likely action of each row of host logits [B, n] (first on ties). */
export function argmaxRows(logits: ArrayLike<number>, batch: number, n: number): Int32Array {
  const out = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    let best = 0;
    for (let k = 1; k < n; k++) if (logits[b * n + k]! > logits[b * n + best]!) best = k;
    out[b] = best;
  }
  return out;
}
