import { ConfigError } from '@hypernets/core';

/** A snapshot of RunningMeanStd (plain arrays: JSON for checkpoints). */
export interface RunningMeanStdState {
  mean: number[];
  var: number[];
  count: number;
}

/**
 * Running mean and (population) variance of vectors of `size` values, merged batch by batch
 * with Chan et al.'s parallel update, exactly as Gymnasium's and Stable-Baselines3's
 * `RunningMeanStd`: it starts at mean 0, var 1 with a prior count of `epsilon` (1e-4).
 */
export class RunningMeanStd {
  mean: Float64Array;
  var: Float64Array;
  count: number;

  constructor(
    readonly size: number,
    epsilon = 1e-4,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new ConfigError('size', `must be a positive integer, got ${size}`);
    this.mean = new Float64Array(size);
    this.var = new Float64Array(size).fill(1);
    this.count = epsilon;
  }

  /** Adds a batch: `x` holds `batchCount` rows of `size` values, row-major. */
  update(x: ArrayLike<number>, batchCount = 1): void {
    if (x.length !== batchCount * this.size)
      throw new ConfigError('x', `expected ${batchCount} × ${this.size} values, got ${x.length}`);
    const n = this.size;
    const mean = new Float64Array(n);
    const v = new Float64Array(n);
    for (let b = 0; b < batchCount; b++) for (let i = 0; i < n; i++) mean[i] += x[b * n + i];
    for (let i = 0; i < n; i++) mean[i] /= batchCount;
    for (let b = 0; b < batchCount; b++)
      for (let i = 0; i < n; i++) {
        const d = x[b * n + i] - mean[i];
        v[i] += d * d;
      }
    for (let i = 0; i < n; i++) v[i] /= batchCount;
    this.updateFromMoments(mean, v, batchCount);
  }

  /** Merges a batch given by its mean, population variance and count. */
  updateFromMoments(batchMean: ArrayLike<number>, batchVar: ArrayLike<number>, batchCount: number): void {
    const total = this.count + batchCount;
    for (let i = 0; i < this.size; i++) {
      const delta = batchMean[i] - this.mean[i];
      const m2 =
        this.var[i] * this.count + batchVar[i] * batchCount + (delta * delta * this.count * batchCount) / total;
      this.mean[i] = this.mean[i] + (delta * batchCount) / total;
      this.var[i] = m2 / total;
    }
    this.count = total;
  }

  getState(): RunningMeanStdState {
    return { mean: Array.from(this.mean), var: Array.from(this.var), count: this.count };
  }

  setState(state: RunningMeanStdState): void {
    if (state.mean.length !== this.size || state.var.length !== this.size)
      throw new ConfigError('state', `expected mean and var of ${this.size} values`);
    if (!(state.count > 0)) throw new ConfigError('state.count', `must be positive, got ${state.count}`);
    this.mean = Float64Array.from(state.mean);
    this.var = Float64Array.from(state.var);
    this.count = state.count;
  }
}
