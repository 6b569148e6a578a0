import { targetVariance, type ParamSpec } from '@hypernets/core';
import { numel } from '@hypernets/core/internal';

/**
 * How the output layer of a hypernetwork is initialised (Chang, Sahni, Tsang & Duvenaud,
 * "Principled Weight Initialization for Hypernetworks", ICLR 2020):
 * - 'hyperfan-in': every generated tensor gets the variance of the target's own init
 *   (`targetVariance`, Kaiming 2/fanIn for ReLU layers, Xavier otherwise);
 * - 'hyperfan-out': the fan-out counterpart (2/fanOut where the target uses Kaiming), which
 *   preserves the variance of backward signals in the target;
 * - 'default': the output layer initialised like any dense layer (what hypnettorch does by
 *   default); generated weights then have no particular scale;
 * - 'xavier': every weight of the hypernetwork Xavier-uniform, biases 0, embeddings N(0, 1): what
 *   hypercl's MNIST experiments do (mnist/train_utils.py, generate_classifier). Generated weights
 *   start ~3× below Kaiming scale for the Permuted-MNIST config. MLP-trunk hypernetworks only.
 */
export type HyperInit = 'hyperfan-in' | 'hyperfan-out' | 'default' | 'xavier';

/** The inits that give generated tensors a target variance (the hyperfan ones). */
export type HyperfanInit = Exclude<HyperInit, 'default' | 'xavier'>;

/** Mean and variance one generated entry should have at init. */
export interface EntryStats {
  mean: Float32Array;
  variance: Float32Array;
}

/**
 * Per-entry init targets for a ParamSpec list (flattened in order). Kinds whose own init is
 * constant (bias, norm-shift → 0; norm-scale → 1; targetVariance 0) get that constant as the
 * mean and `smallVariance` as the variance, so different conditions still differ a little.
 */
export function entryStats(specs: readonly ParamSpec[], mode: HyperfanInit, smallVariance: number): EntryStats {
  let total = 0;
  for (const s of specs) total += numel(s.shape);
  const mean = new Float32Array(total);
  const variance = new Float32Array(total);
  let off = 0;
  for (const s of specs) {
    const n = numel(s.shape);
    const { m, v } = specStats(s, mode, smallVariance);
    mean.fill(m, off, off + n);
    variance.fill(v, off, off + n);
    off += n;
  }
  return { mean, variance };
}

export function specStats(s: ParamSpec, mode: HyperfanInit, smallVariance: number): { m: number; v: number } {
  let v = targetVariance(s);
  if (v === 0) return { m: s.kind === 'norm-scale' ? 1 : 0, v: smallVariance };
  if (mode === 'hyperfan-out' && s.fanOut > 0 && Math.abs(v - 2 / s.fanIn) < 1e-12 * v) v = 2 / s.fanOut;
  else if (mode === 'hyperfan-out' && s.fanOut > 0 && s.kind !== 'embedding') v = 2 / (s.fanIn + s.fanOut);
  return { m: 0, v };
}

/**
 * Output-layer column variances and biases that make generated entry j have mean μ_j and
 * variance v_j: o_j = Σ_k W_kj a_k + b_j with W_kj ~ N(0, v_j / (d · E[a²])) and b_j = μ_j,
 * where d is the width of the last hidden layer and E[a²] the second moment of its
 * activations. With ReLU hidden layers initialised Kaiming-normal and zero biases, E[a²] is
 * the second moment of the hypernetwork's input (1 for N(0, 1) embeddings) — the paper's
 * Var(W) = v_j / (d_k · Var(e)).
 */
export function hyperfanColumns(
  stats: EntryStats,
  d: number,
  secondMoment: number,
  scale = 1,
): { std: Float32Array; bias: Float32Array } {
  const std = new Float32Array(stats.variance.length);
  for (let j = 0; j < std.length; j++) std[j] = Math.sqrt((scale * scale * stats.variance[j]) / (d * secondMoment));
  return { std, bias: Float32Array.from(stats.mean) };
}

/**
 * Chunked heuristic: output unit u of the chunk generator produces entries c·S + u of every
 * chunk c (S = chunk size; the surplus of the last chunk is ignored). It cannot match every
 * entry's own variance, so it gets the variance (and mean) averaged over the entries it
 * produces. Layers whose variance is below the average come out too wide and vice versa;
 * tensors that span whole chunks are right on average.
 */
export function chunkedStats(stats: EntryStats, chunkSize: number): EntryStats {
  const total = stats.mean.length;
  const mean = new Float32Array(chunkSize);
  const variance = new Float32Array(chunkSize);
  const count = new Float32Array(chunkSize);
  for (let e = 0; e < total; e++) {
    const u = e % chunkSize;
    mean[u] += stats.mean[e];
    variance[u] += stats.variance[e];
    count[u]++;
  }
  for (let u = 0; u < chunkSize; u++) {
    mean[u] /= count[u];
    variance[u] /= count[u];
  }
  return { mean, variance };
}
