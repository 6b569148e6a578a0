import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, MLP, activate, linear, type Rng, type TargetNet, type Weights } from '@hypernets/core';
import { checkPositiveInt } from '@hypernets/core/internal';
import type { DataSplit } from '@hypernets/data';
import { activeLabels, activeLogits, type HeadLayout } from '../scenario.js';

/** How EWC labels each sample when it estimates the Fisher. */
export type FisherLabels = 'pred' | 'all' | 'true';
export const FISHER_LABELS: readonly FisherLabels[] = ['pred', 'all', 'true'];

export interface FisherOptions {
  /** Samples of the split to use: a seeded random subset of this size; null: the whole split, in order. Default null. */
  samples?: number | null;
  /**
   * 'pred': the log-likelihood of the model's predicted label (van de Ven's default in the
   * 2019 release, and Schwarz et al.'s); 'all': the exact Fisher, Σ_c p_c g_c² (their later
   * default); 'true': the data's label (the "empirical Fisher"). Default 'pred'.
   */
  labels?: FisherLabels;
  /**
   * Samples per pass. Default 256 for an MLP (closed form, memory batchSize × width) and 16
   * for other targets (tiled weights, memory batchSize × parameters).
   */
  batchSize?: number;
  /** Draws the subset when `samples` < split size. */
  rng?: Rng;
}

/**
 * Diagonal Fisher information of task `task` at `weights`: the mean over samples of the squared
 * per-sample gradient of log p(label | x) over the active logits (`activeLogits`). Per-sample
 * gradients come from one batched pass with per-sample weights (the TargetNet contract: weights
 * tiled to [B, …], sample i runs with copy i, and the gradient with respect to copy i is sample
 * i's). Returns new tensors by ParamSpec name; the caller disposes them.
 */
export function diagonalFisher(
  target: TargetNet,
  weights: Weights,
  layout: HeadLayout,
  task: number,
  split: DataSplit,
  options: FisherOptions = {},
): Weights {
  const labels = options.labels ?? 'pred';
  if (!FISHER_LABELS.includes(labels))
    throw new ConfigError('fisherLabels', `must be one of ${FISHER_LABELS.join(', ')}, got ${JSON.stringify(labels)}`);
  const chunk = checkPositiveInt('fisherBatch', options.batchSize ?? (target instanceof MLP ? 256 : 16));
  const samples = options.samples ?? null;
  if (samples !== null) checkPositiveInt('fisherN', samples);
  if (split.size === 0)
    throw new ConfigError('train', `task ${task}'s training split is empty: the Fisher needs samples`);
  let positions: Int32Array;
  if (samples === null || samples >= split.size) positions = Int32Array.from({ length: split.size }, (_, i) => i);
  else {
    if (!options.rng) throw new ConfigError('rng', 'a Fisher over a subset of the split needs an rng to draw it');
    positions = options.rng.permutation(split.size).subarray(0, samples);
  }
  const specs = target.params;
  const n = positions.length;
  let acc: tf.Tensor[] = specs.map((s) => tf.zeros([...s.shape]));
  for (let start = 0; start < n; start += chunk) {
    const batch = split.batch(positions.subarray(start, Math.min(n, start + chunk)));
    try {
      const next = tf.tidy(() => {
        const B = batch.size;
        const logits = activeLogits(layout, target.forward(batch.x, weights), task, false);
        const K = logits.shape[1]!;
        const sums = (targets: tf.Tensor, sampleWeight: tf.Tensor | null) =>
          perSampleSquaredGradSum(target, weights, layout, task, batch.x, targets, sampleWeight);
        let part: tf.Tensor[];
        if (labels === 'all') {
          const p = tf.softmax(logits); // [B, K], a constant here (as in van de Ven's no_grad)
          part = specs.map((s) => tf.zeros([...s.shape]));
          for (let c = 0; c < K; c++) {
            const t = tf.oneHot(tf.fill([B], c, 'int32'), K);
            const w = tf.reshape(tf.slice(p, [0, c], [B, 1]), [B]);
            const s = sums(t, w);
            part = part.map((a, i) => tf.add(a, s[i]!));
          }
        } else {
          const y = labels === 'pred' ? tf.argMax(logits, 1) : (activeLabels(layout, batch, false) as tf.Tensor1D);
          part = sums(tf.oneHot(tf.cast(y, 'int32'), K), null);
        }
        return acc.map((a, i) => tf.add(a, part[i]!));
      });
      tf.dispose(acc);
      acc = next;
    } finally {
      tf.dispose([batch.x, batch.y, batch.yGlobal]);
    }
  }
  const out: Weights = {};
  specs.forEach((s, i) => (out[s.name] = tf.tidy(() => tf.div(acc[i]!, n))));
  tf.dispose(acc);
  return out;
}

/**
 * Σ_i w_i (∂ℓ_i/∂θ)², ℓ_i = −Σ_k targets_ik log softmax(active logits_i)_k; w_i = 1 when null.
 * An MLP takes the closed form (per-sample dense gradient a_i δ_iᵀ, so Σ_i (a_i δ_iᵀ)² =
 * (a∘a)ᵀ(δ∘δ): one matmul per layer, ~100× faster than tiling the weights on wasm); any other
 * TargetNet runs with per-sample (tiled) weights.
 */
function perSampleSquaredGradSum(
  target: TargetNet,
  weights: Weights,
  layout: HeadLayout,
  task: number,
  x: tf.Tensor,
  targets: tf.Tensor,
  sampleWeight: tf.Tensor | null,
): tf.Tensor[] {
  if (target instanceof MLP) return mlpSquaredGradSum(target, weights, layout, task, x, targets, sampleWeight);
  return tiledSquaredGradSum(target, weights, layout, task, x, targets, sampleWeight);
}

/** The MLP's forward (eval mode, as MLP.forward), with `probes` added to each layer's pre-activation. */
function mlpForward(
  net: MLP,
  weights: Weights,
  x: tf.Tensor,
  probes: readonly tf.Tensor[] | null,
  inputs: tf.Tensor[] | null,
): tf.Tensor {
  const { inputSize, activation, outputActivation, bias } = net.config;
  const layers = net.sizes.length - 1;
  let h = x.rank === 2 ? x : tf.reshape(x, [x.shape[0]!, inputSize]);
  for (let l = 1; l <= layers; l++) {
    inputs?.push(h);
    let z = linear(h, weights[`fc${l}.weight`]!, bias ? weights[`fc${l}.bias`] : undefined);
    if (probes) z = tf.add(z, probes[l - 1]!);
    h = activate(z, l < layers ? activation : outputActivation);
  }
  return h;
}

function mlpSquaredGradSum(
  net: MLP,
  weights: Weights,
  layout: HeadLayout,
  task: number,
  x: tf.Tensor,
  targets: tf.Tensor,
  sampleWeight: tf.Tensor | null,
): tf.Tensor[] {
  return tf.tidy(() => {
    const B = x.shape[0]!;
    // One pass: layer inputs a_l are recorded (and kept past tf.grads' own scope) while
    // δ_l = ∂L/∂z_l (rows: samples) comes out as the gradient with respect to zero probes added to z_l.
    const inputs: tf.Tensor[] = [];
    const probes = net.sizes.slice(1).map((n) => tf.zeros([B, n]));
    const deltas = tf.grads((...ps: tf.Tensor[]) => {
      const logp = tf.logSoftmax(activeLogits(layout, mlpForward(net, weights, x, ps, inputs), task, false));
      for (const a of inputs) if (a !== x) tf.keep(a);
      return tf.neg(tf.sum(tf.mul(targets, logp))) as tf.Scalar;
    })(probes);
    const out: Record<string, tf.Tensor> = {};
    deltas.forEach((d, i) => {
      let d2 = tf.square(d);
      if (sampleWeight) d2 = tf.mul(d2, tf.reshape(sampleWeight, [B, 1]));
      out[`fc${i + 1}.weight`] = tf.matMul(tf.square(inputs[i]!), d2, true, false);
      out[`fc${i + 1}.bias`] = tf.sum(d2, 0);
    });
    for (const a of inputs) if (a !== x) a.dispose();
    return net.params.map((s) => out[s.name]!);
  });
}

function tiledSquaredGradSum(
  target: TargetNet,
  weights: Weights,
  layout: HeadLayout,
  task: number,
  x: tf.Tensor,
  targets: tf.Tensor,
  sampleWeight: tf.Tensor | null,
): tf.Tensor[] {
  return tf.tidy(() => {
    const B = x.shape[0]!;
    const specs = target.params;
    const tiled = specs.map((s) => tf.tile(tf.expandDims(weights[s.name]!, 0), [B, ...s.shape.map(() => 1)]));
    const f = (...ws: tf.Tensor[]) => {
      const w: Weights = {};
      specs.forEach((s, i) => (w[s.name] = ws[i]!));
      const logp = tf.logSoftmax(activeLogits(layout, target.forward(x, w), task, false));
      return tf.neg(tf.sum(tf.mul(targets, logp))) as tf.Scalar;
    };
    const grads = tf.grads(f)(tiled);
    return grads.map((g, i) => {
      let sq = tf.square(g);
      if (sampleWeight) sq = tf.mul(sq, tf.reshape(sampleWeight, [B, ...specs[i]!.shape.map(() => 1)]));
      return tf.sum(sq, 0);
    });
  });
}
