import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, stopGradient } from '@hypernets/core';
import type { PreparedContexts, ZeroShotModel } from './model.js';

/** One minibatch of transitions, sample i under context `index[i]` of the prepared contexts. */
export interface ZeroShotBatch {
  /** s [B, obs]. */
  states: tf.Tensor2D;
  /** a* [B, act]. */
  actions: tf.Tensor2D;
  /** r [B]. */
  rewards: tf.Tensor1D;
  /** s' [B, obs]. */
  nextStates: tf.Tensor2D;
  /** The TD discount [B]. */
  discounts: tf.Tensor1D;
  /** Q*(s, a*) [B]. */
  values: tf.Tensor1D;
  /** int32 [B]. */
  index: tf.Tensor1D;
}

export interface ZeroShotLossOptions {
  /** Weight of ‖Q̂ − Q*‖². Default 0.01 (the reference's `value_weight`). */
  valueWeight?: number;
  /** Weight of the TD term. Default 0.01 (`td_weight`). */
  tdWeight?: number;
  /** Add the TD term to the loss (`use_td`). Default true for a model with Q. */
  useTd?: boolean;
  /** Compute the TD term even when it is not in the loss (the reference's validation does). Default false. */
  reportTd?: boolean;
}

export interface ZeroShotLossTerms {
  /** What is minimised: action + valueWeight · value (+ tdWeight · td with useTd). */
  loss: tf.Scalar;
  /** mean ‖π̂(s) − a*‖² (over samples and action dimensions, torch's `mse_loss`). */
  action: tf.Scalar;
  /** mean (Q̂(s, a*) − Q*)²; null for a policy-only model. */
  value: tf.Scalar | null;
  /** mean (Q* − (r + γ · Q̂(s', sg(π̂(s')))))²; null when neither used nor reported. */
  td: tf.Scalar | null;
}

/**
 * HyperZero's loss as the reference's `RLApproximator.update` computes it
 * (`approximators/rl_solution.py`): the policy regression ‖π̂(s) − a*‖², plus for a model with a
 * Q-function 0.01 · ‖Q̂(s, a*) − Q*‖², plus with `use_td` 0.01 · TD where (`get_td_error`) the next
 * action comes from the generated policy without gradient, the target is r + γ · Q̂(s', a') through
 * the generated Q-function (gradient flows into it), and the error is taken against the dataset's
 * Q*, not against Q̂(s, a*). A policy-only model (`PolicyApproximator`) has the action term only.
 */
export function zeroShotLoss(
  model: ZeroShotModel,
  p: PreparedContexts,
  batch: ZeroShotBatch,
  options: ZeroShotLossOptions = {},
): ZeroShotLossTerms {
  const withQ = model.config.withQ;
  const useTd = options.useTd ?? withQ;
  if (useTd && !withQ) throw new ConfigError('useTd', 'the TD term needs a model with a Q-function (withQ)');
  const vw = options.valueWeight ?? 0.01;
  const tw = options.tdWeight ?? 0.01;
  if (!(vw >= 0) || !(tw >= 0)) throw new ConfigError('valueWeight/tdWeight', `must be ≥ 0, got ${vw} and ${tw}`);
  const out = tf.tidy((): tf.TensorContainer => {
    const action = tf.mean(tf.squaredDifference(model.act(p, batch.states, batch.index), batch.actions)) as tf.Scalar;
    if (!withQ) return { loss: tf.clone(action), action, value: null, td: null } as unknown as tf.TensorContainer;
    const q = model.q(p, batch.states, batch.actions, batch.index);
    const value = tf.mean(tf.squaredDifference(q, batch.values)) as tf.Scalar;
    let loss = tf.add(action, tf.mul(value, vw)) as tf.Scalar;
    let td: tf.Scalar | null = null;
    if (useTd || options.reportTd) {
      td = tdError(model, p, batch);
      if (useTd) loss = tf.add(loss, tf.mul(td, tw)) as tf.Scalar;
    }
    return { loss, action, value, td } as unknown as tf.TensorContainer;
  });
  return out as unknown as ZeroShotLossTerms;
}

/** The reference's `get_td_error`: mean (Q* − (r + γ · Q̂(s', sg(π̂(s')))))². */
export function tdError(model: ZeroShotModel, p: PreparedContexts, batch: ZeroShotBatch): tf.Scalar {
  return tf.tidy(() => {
    const nextAction = stopGradient(model.act(p, batch.nextStates, batch.index));
    const nextQ = model.q(p, batch.nextStates, nextAction, batch.index);
    const target = tf.add(batch.rewards, tf.mul(batch.discounts, nextQ));
    return tf.mean(tf.squaredDifference(batch.values, target)) as tf.Scalar;
  });
}
