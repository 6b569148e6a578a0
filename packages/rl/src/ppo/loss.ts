import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@hypernets/core';

/** One minibatch, every tensor [B]: what the rollout stored and what the current policy gives. */
export interface PpoMinibatch {
  /** log π_θ(a | s) under the current weights (on the tape). */
  newLogProb: tf.Tensor;
  /** log π_old(a | s) from the rollout. */
  oldLogProb: tf.Tensor;
  /** GAE advantages from the rollout (normalised here when `normAdv`). */
  advantages: tf.Tensor;
  /** The critic's targets Â + V_old. */
  returns: tf.Tensor;
  /** V_old(s) from the rollout. */
  oldValues: tf.Tensor;
  /** V_θ(s) under the current weights (on the tape). */
  newValues: tf.Tensor;
  /** Entropy of π_θ(· | s) (on the tape). */
  entropy: tf.Tensor;
}

export interface PpoLossOptions {
  /** ε of the clipped surrogate (and of the value clip). Default 0.2. */
  clipCoef?: number;
  /** Clip the value loss around V_old (PPO paper's implementation, CleanRL's default). Default true. */
  clipVloss?: boolean;
  /** Normalise the minibatch's advantages to mean 0, (unbiased) std 1 (+1e-8). Default true. */
  normAdv?: boolean;
  /** Weight of the entropy bonus. Default 0.01. */
  entCoef?: number;
  /** Weight of the value loss. Default 0.5. */
  vfCoef?: number;
}

/** Scalars: `loss` is on the tape; the others are diagnostics (CleanRL's logged numbers). */
export interface PpoLossTerms {
  /** pgLoss − entCoef · entropy + vfCoef · vLoss. */
  loss: tf.Scalar;
  /** mean max(−Â r, −Â clip(r, 1 − ε, 1 + ε)). */
  pgLoss: tf.Scalar;
  /** ½ mean (V − R)², or ½ mean max((V − R)², (V_old + clip(V − V_old, −ε, ε) − R)²). */
  vLoss: tf.Scalar;
  /** Mean entropy. */
  entropy: tf.Scalar;
  /** mean(−log r) (CleanRL's `old_approx_kl`). */
  oldApproxKl: tf.Scalar;
  /** mean((r − 1) − log r), Schulman's low-variance KL estimator (CleanRL's `approx_kl`). */
  approxKl: tf.Scalar;
  /** Share of samples with |r − 1| > ε. */
  clipFraction: tf.Scalar;
}

/**
 * The PPO-clip loss of one minibatch (Schulman et al. 2017), term by term as CleanRL's ppo.py:
 * r = exp(log π_θ − log π_old); the clipped surrogate, the (optionally clipped) value loss, the
 * entropy bonus; approx KL and the clip fraction as diagnostics. Pure: tensors in, scalars out.
 */
export function ppoLoss(mb: PpoMinibatch, options: PpoLossOptions = {}): PpoLossTerms {
  const clipCoef = options.clipCoef ?? 0.2;
  const entCoef = options.entCoef ?? 0.01;
  const vfCoef = options.vfCoef ?? 0.5;
  const normAdv = options.normAdv ?? true;
  const clipVloss = options.clipVloss ?? true;
  const n = mb.advantages.size;
  if (normAdv && n < 2)
    throw new ConfigError('minibatch', 'advantage normalisation needs at least 2 samples per minibatch');
  return tf.tidy(() => {
    const logRatio = tf.sub(mb.newLogProb, mb.oldLogProb);
    const ratio = tf.exp(logRatio);
    let adv = mb.advantages;
    if (normAdv) {
      const mean = tf.mean(adv);
      const centred = tf.sub(adv, mean);
      // torch's Tensor.std(): unbiased (n − 1)
      const std = tf.sqrt(tf.div(tf.sum(tf.square(centred)), n - 1));
      adv = tf.div(centred, tf.add(std, 1e-8));
    }
    const pg1 = tf.mul(tf.neg(adv), ratio);
    const pg2 = tf.mul(tf.neg(adv), tf.clipByValue(ratio, 1 - clipCoef, 1 + clipCoef));
    const pgLoss = tf.mean(tf.maximum(pg1, pg2)) as tf.Scalar;

    const newValues = tf.reshape(mb.newValues, [-1]);
    const unclipped = tf.square(tf.sub(newValues, mb.returns));
    let vLoss: tf.Scalar;
    if (clipVloss) {
      const vClipped = tf.add(mb.oldValues, tf.clipByValue(tf.sub(newValues, mb.oldValues), -clipCoef, clipCoef));
      const clipped = tf.square(tf.sub(vClipped, mb.returns));
      vLoss = tf.mul(0.5, tf.mean(tf.maximum(unclipped, clipped))) as tf.Scalar;
    } else vLoss = tf.mul(0.5, tf.mean(unclipped)) as tf.Scalar;

    const entropy = tf.mean(mb.entropy) as tf.Scalar;
    const loss = tf.add(tf.sub(pgLoss, tf.mul(entCoef, entropy)), tf.mul(vfCoef, vLoss)) as tf.Scalar;

    // Diagnostics: they feed no output that is differentiated (tfjs has no stopGradient op).
    const oldApproxKl = tf.mean(tf.neg(logRatio)) as tf.Scalar;
    const approxKl = tf.mean(tf.sub(tf.sub(ratio, 1), logRatio)) as tf.Scalar;
    const clipFraction = tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), clipCoef), 'float32')) as tf.Scalar;
    return { loss, pgLoss, vLoss, entropy, oldApproxKl, approxKl, clipFraction };
  });
}
