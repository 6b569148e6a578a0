import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, targetVariance, type ParamSpec } from '@hypernets/core';
import { checkPositiveInt, numel } from '@hypernets/core/internal';
import { MLPHyperNetBase, type HyperMLPConfig } from './base.js';
import type { EntryStats } from './init.js';
import { mean, meanSquare, rowMeanSquares } from './host-init.js';

export interface LowRankHyperNetConfig extends HyperMLPConfig {
  /** Rank r of every factorised tensor W = A Bᵀ. Default 8. */
  rank?: number;
  /**
   * Per target tensor (ParamSpec name): its own rank, or 'direct' to generate it entry by
   * entry. Tensors not named use `rank`.
   */
  ranks?: Readonly<Record<string, number | 'direct'>>;
}

/** How one target tensor is produced by the trunk's output. */
export interface TensorFactorization {
  readonly name: string;
  /** Matrix view [rows, cols]: rows = Π shape[0..−2], cols = shape[−1]. */
  readonly rows: number;
  readonly cols: number;
  /** r of W = A Bᵀ, or null when the tensor is generated directly. */
  readonly rank: number | null;
  /** Trunk outputs spent on it: (rows + cols)·r, or numel when direct. */
  readonly outputs: number;
}

/**
 * Low-rank hypernetwork (the low-rank decoder of LoGAH, Zhou, Knyazev, Jolicoeur-Martineau &
 * Fu 2024, on the MLP trunk of HyperMLP): for every target tensor viewed as a matrix
 * [rows, cols] the trunk outputs factors A [rows, r] and B [cols, r] and the tensor is
 * W = A Bᵀ, so the output layer grows with (rows + cols)·r instead of rows·cols.
 *
 * Matrix view: the last axis is the column axis and everything before it is flattened
 * row-major into rows — dense [in, out] → [in, out]; conv [kh, kw, cin, cout] →
 * [kh·kw·cin, cout] (rows = the receptive field, as in the fanIn of ParamSpec). W reshaped
 * back to the spec shape is exactly that view. Tensors of rank 1 (bias, norm), tensors whose
 * own init is constant (W = A Bᵀ with zero-mean factors cannot sit at 1), and tensors where
 * (rows + cols)·r ≥ rows·cols (no saving) are generated directly, like HyperMLP.
 *
 * Condition modes, MIP (θ = θ₀ + A Bᵀ) and per-sample weights come from MLPHyperNetBase;
 * N conditions produce all factors at once and each tensor is one [N, rows, r] × [N, cols, r]ᵀ
 * batched matmul with equal batch dims (no broadcast, so tfjs's BatchMatMul gradient is exact).
 *
 * Init (hyperfan for factors): given one trunk activation, the entries of A and B are
 * independent zero-mean, so Var(W_ij) = r·Var(A)·Var(B); Var(A) = Var(B) = √(v/r) makes W
 * have the target's own variance v (`targetVariance`, or 2/fanOut etc. for hyperfan-out).
 * Directly generated entries get HyperMLP's stats (constant kinds: their constant as mean).
 *
 * Own ParamSpecs: those of HyperMLP with `out.weight` [h, O], `out.bias` [O],
 * O = Σ outputs of `factorization`.
 */
export class LowRankHyperNet extends MLPHyperNetBase {
  readonly rank: number;
  /** One entry per target tensor, in ParamSpec order. */
  readonly factorization: readonly TensorFactorization[];
  private readonly outSize: number;

  constructor(config: LowRankHyperNetConfig) {
    super(config, 'low-rank-hypernet');
    this.rank = checkPositiveInt('rank', config.rank ?? 8);
    const ranks = config.ranks ?? {};
    for (const name of Object.keys(ranks))
      if (!this.targetParams.some((s) => s.name === name))
        throw new ConfigError(
          `ranks.${name}`,
          `no target tensor is named '${name}' (targets: ${this.targetParams.map((s) => s.name).join(', ')})`,
        );
    this.factorization = this.targetParams.map((s) => {
      const o = ranks[s.name];
      const r = o === undefined ? this.rank : o === 'direct' ? null : checkPositiveInt(`ranks.${s.name}`, o);
      return factorize(s, r);
    });
    this.outSize = this.factorization.reduce((a, f) => a + f.outputs, 0);
    this.build();
  }

  protected trunkInputSize(): number {
    return this.condFeatures;
  }

  protected trunkOutputSize(): number {
    return this.outSize;
  }

  /**
   * Per output unit: direct entries keep their entry stats; factor entries get mean 0 and
   * variance √(v/r). With MIP the base scales every column's std by s = mipOutputScale, which
   * would scale W = A Bᵀ by s²: factor variances are divided by s so that W, like the direct
   * part, starts at s × hyperfan. `productMomentCorrection` is folded into s the same way.
   */
  protected outputStats(stats: EntryStats): EntryStats {
    const s = (this.mip ? (this.cfg.mipOutputScale ?? 0.1) : 1) * this.productMomentCorrection();
    const mean = new Float32Array(this.outSize);
    const variance = new Float32Array(this.outSize);
    let src = 0;
    let dst = 0;
    for (const f of this.factorization) {
      const n = f.rows * f.cols;
      if (f.rank === null) {
        mean.set(stats.mean.subarray(src, src + n), dst);
        variance.set(stats.variance.subarray(src, src + n), dst);
      } else {
        // The tensor's entries share one variance (entryStats fills it per spec).
        variance.fill(Math.sqrt(stats.variance[src]! / f.rank) / s, dst, dst + f.outputs);
      }
      src += n;
      dst += f.outputs;
    }
    return { mean, variance };
  }

  /**
   * The base scales columns by 1/E[a²] over all conditions, right on average for one factor;
   * but given condition c, Var(A Bᵀ | c) ∝ E[a²|c]², so W's variance averaged over conditions
   * comes out E_c[q_c²] too large, q_c = E[a²|c] / E_c E[a²|c]. With learned N(0, 1)
   * embeddings of size E, q_c ≈ |e_c|²/E (ReLU layers are positively homogeneous), so
   * E[q²] ≈ 1 + 2/E: +25% at E = 8. Measured on the same conditions as the base's E[a²];
   * √E[q²] is divided out of each factor. External inputs are unknown at init: 1.
   */
  private productMomentCorrection(): number {
    if (this.mode === 'input') return 1;
    const { h, rows } = this.initHiddenActivations();
    const m2c = rowMeanSquares(h, rows);
    const q2 = Math.fround(meanSquare(m2c) / Math.fround(mean(m2c) ** 2));
    return Number.isFinite(q2) && q2 > 0 ? Math.sqrt(q2) : 1;
  }

  protected trunkInput(feats: tf.Tensor): tf.Tensor {
    return feats;
  }

  protected trunkInputHost(feats: Float32Array, n: number): { x: Float32Array; rows: number } {
    return { x: feats, rows: n };
  }

  /** [N, O] factors and direct entries → [N, P]: W = A Bᵀ per factorised tensor. */
  protected trunkOutputToFlat(out: tf.Tensor, n: number): tf.Tensor {
    const fs = this.factorization;
    const parts =
      fs.length === 1
        ? [out]
        : tf.split(
            out,
            fs.map((f) => f.outputs),
            1,
          );
    const flat = fs.map((f, i) => {
      if (f.rank === null) return parts[i]!;
      const r = f.rank;
      const [a, b] = tf.split(parts[i]!, [f.rows * r, f.cols * r], 1);
      const w = tf.matMul(tf.reshape(a!, [n, f.rows, r]), tf.reshape(b!, [n, f.cols, r]), false, true);
      return tf.reshape(w, [n, f.rows * f.cols]);
    });
    return flat.length === 1 ? flat[0]! : tf.concat(flat, 1);
  }
}

/** Matrix view and rank of one target tensor (rank null: generated directly; see the class). */
export function factorize(s: ParamSpec, rank: number | null): TensorFactorization {
  const cols = s.shape.length === 0 ? 1 : s.shape[s.shape.length - 1]!;
  const rows = numel(s.shape) / cols;
  const direct = { name: s.name, rows, cols, rank: null, outputs: rows * cols };
  if (rank === null || s.shape.length < 2 || targetVariance(s) === 0) return direct;
  if ((rows + cols) * rank >= rows * cols) return direct;
  return { name: s.name, rows, cols, rank, outputs: (rows + cols) * rank };
}
