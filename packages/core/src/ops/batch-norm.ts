import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { paramSpec, type ParamSpec } from '../params.js';
import { affine } from './affine.js';
import type { StateSpec } from '../target.js';

/**
 * Batch normalisation over the last (channel) axis, PyTorch semantics: training normalises
 * with the batch's biased variance and moves the running estimates by
 * `r ← (1 − momentum)·r + momentum·batch` using the unbiased variance; eval normalises with
 * the running estimates.
 *
 * Per-sample weights (γ, β with a leading batch dimension) make every sample its own network,
 * so in training mode every sample is also its own batch: statistics over the sample's
 * spatial positions only (axes 1..rank−2), never across samples. That is the semantics under
 * which a per-sample forward equals running the samples one at a time, each as a batch of one
 * — including the running estimates, which are updated as by B sequential batch-of-one steps
 * (sample 0 first): r ← (1−m)^B·r + Σᵢ m·(1−m)^(B−1−i)·statᵢ.
 */

export interface BatchNormSettings {
  /** Weight of the new batch statistic in the running estimate. Default 0.1 (PyTorch). */
  momentum?: number;
  /** Added to the variance. Default 1e-5 (PyTorch). */
  eps?: number;
}

export interface BatchNormCall extends BatchNormSettings {
  /** Normalise with batch statistics (and update the running estimates when given). */
  training: boolean;
  /** γ/β carry a leading batch dimension: statistics per sample (see the module comment). */
  perSample: boolean;
  /** Running estimates; required in eval mode, updated (outside the gradient) in training. */
  runningMean?: tf.Variable;
  runningVar?: tf.Variable;
  /** Names the layer in errors. */
  name?: string;
}

export const BN_MOMENTUM = 0.1;
export const BN_EPS = 1e-5;

/** ParamSpecs `${name}.weight` (γ, norm-scale) and `${name}.bias` (β, norm-shift), both [channels]. */
export function batchNormSpecs(name: string, channels: number, layer: number): ParamSpec[] {
  return [
    paramSpec({
      name: `${name}.weight`,
      shape: [channels],
      kind: 'norm-scale',
      layer,
      fanIn: channels,
      fanOut: channels,
    }),
    paramSpec({
      name: `${name}.bias`,
      shape: [channels],
      kind: 'norm-shift',
      layer,
      fanIn: channels,
      fanOut: channels,
    }),
  ];
}

/** StateSpecs `${name}.running_mean` (zeros) and `${name}.running_var` (ones). */
export function batchNormStateSpecs(name: string, channels: number): StateSpec[] {
  return [
    { name: `${name}.running_mean`, shape: [channels], init: 'zeros' },
    { name: `${name}.running_var`, shape: [channels], init: 'ones' },
  ];
}

/**
 * y = γ·(x − μ)/√(σ² + eps) + β. x: [N, ..., C]; γ, β: [C] (shared) or [N, C] (per-sample).
 */
export function batchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, call: BatchNormCall): tf.Tensor {
  const momentum = call.momentum ?? BN_MOMENTUM;
  const eps = call.eps ?? BN_EPS;
  const name = call.name ?? 'batch norm';
  const c = x.shape[x.rank - 1];
  const gShape = call.perSample ? [x.shape[0], c] : [c];
  for (const [what, t] of [
    ['weight', gamma],
    ['bias', beta],
  ] as const)
    if (t.rank !== gShape.length || t.shape.some((d, i) => d !== gShape[i]))
      throw new ShapeMismatchError(`${name}.${what}`, gShape, t.shape);

  if (!call.training) {
    const { runningMean, runningVar } = call;
    if (!runningMean || !runningVar)
      throw new ConfigError(
        'options.state',
        `${name} in eval mode normalises with running statistics; pass options.state (new NetState(net.stateSpecs)) or run with training: true`,
      );
    return tf.tidy(() => affine(tf.mul(tf.sub(x, runningMean), tf.rsqrt(tf.add(runningVar, eps))), gamma, beta));
  }

  // Shared: statistics over every axis but the channel. Per-sample: over the middle axes only.
  const axes = call.perSample ? range(1, x.rank - 1) : range(0, x.rank - 1);
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  if (count < 2)
    throw new ConfigError(
      'options.training',
      `${name} needs more than one value per channel to compute batch statistics in training mode, got input [${x.shape.join(', ')}]` +
        (call.perSample ? ' (per-sample weights: statistics are taken over each sample alone)' : ''),
    );
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, axes, true);
    const y = affine(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma, beta);
    if (call.runningMean && call.runningVar)
      updateRunning(call.runningMean, call.runningVar, mean, variance, count, momentum, call.perSample);
    return y;
  });
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i < b; i++) out.push(i);
  return out;
}

/**
 * Moves the running estimates. The new values are computed under tf.tidy and assigned in
 * place; they feed no output, so no gradient flows through them (tfjs has no stopGradient op;
 * backprop only visits ops on a path to the loss), and nothing but the variables' new values
 * survives.
 */
function updateRunning(
  runningMean: tf.Variable,
  runningVar: tf.Variable,
  mean: tf.Tensor,
  variance: tf.Tensor,
  count: number,
  momentum: number,
  perSample: boolean,
): void {
  const c = runningMean.shape[0];
  const [newMean, newVar] = tf.tidy(() => {
    const m = tf.reshape(mean, [-1, c]);
    const v = tf.mul(tf.reshape(variance, [-1, c]), count / (count - 1)); // unbiased
    const b = m.shape[0];
    if (!perSample || b === 1) {
      const mm = tf.reshape(m, [c]);
      const vv = tf.reshape(v, [c]);
      return [
        tf.add(tf.mul(runningMean, 1 - momentum), tf.mul(mm, momentum)),
        tf.add(tf.mul(runningVar, 1 - momentum), tf.mul(vv, momentum)),
      ];
    }
    // B sequential batch-of-one updates in closed form: weight m·(1−m)^(B−1−i) for sample i.
    const w = new Float32Array(b);
    for (let i = 0; i < b; i++) w[i] = momentum * Math.pow(1 - momentum, b - 1 - i);
    const wt = tf.tensor2d(w, [b, 1]);
    const keep = Math.pow(1 - momentum, b);
    return [
      tf.add(tf.mul(runningMean, keep), tf.sum(tf.mul(m, wt), 0)),
      tf.add(tf.mul(runningVar, keep), tf.sum(tf.mul(v, wt), 0)),
    ];
  });
  runningMean.assign(newMean);
  runningVar.assign(newVar);
  newMean.dispose();
  newVar.dispose();
}
