import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, type Weights } from '@hypernets/core';
import { checkPositiveInt } from '@hypernets/core/internal';
import type { DataSplit } from '@hypernets/data';
import type { MethodState } from '../method.js';
import { TargetWeightsMethod, checkNumber, type BaselineConfig } from './baseline.js';
import { baselineDefaults, type Benchmark } from './defaults.js';
import { FISHER_LABELS, diagonalFisher, type FisherLabels } from './fisher.js';

export interface EwcConfig extends BaselineConfig {
  /** Picks the default λ/γ (see `baselineDefaults`). Default 'split-mnist'. */
  benchmark?: Benchmark;
  /** Regularisation strength λ. Default: van de Ven's online-EWC value for the benchmark and scenario. */
  lambda?: number;
  /** Decay γ ∈ [0, 1] of past tasks' Fisher. Default: van de Ven's value (0.8 for Split-MNIST cl1/cl3). */
  gamma?: number;
  /** Training samples per Fisher estimate: a seeded random subset; null: the whole split (van de Ven's default). Default null. */
  fisherN?: number | null;
  /** Which label's log-likelihood (see FisherOptions.labels). Default 'pred' (van de Ven 2019). */
  fisherLabels?: FisherLabels;
  /** Samples per per-sample-gradient pass. Default: FisherOptions.batchSize's (256 for an MLP, else 16). */
  fisherBatch?: number;
}

/**
 * Online EWC (Schwarz et al. 2018, "Progress & Compress"; Kirkpatrick et al. 2017), as in van de
 * Ven & Tolias (2019). After task t: F_t = the diagonal Fisher on t's training data
 * (`diagonalFisher`), F̃ ← γ F̃ + F_t, θ* ← θ. While training later tasks:
 * L = L_task + (λ/2) Σ γ F̃ (θ − θ*)². The γ inside the penalty is Schwarz et al.'s eq. (and van
 * de Ven's `ewc_loss`): the accumulated precision decays once more when the next task starts.
 */
export class EwcMethod extends TargetWeightsMethod {
  readonly name = 'ewc' as const;
  readonly lambda: number;
  readonly gamma: number;
  readonly fisherN: number | null;
  readonly fisherLabels: FisherLabels;
  readonly fisherBatch: number | null;
  /** Tasks consolidated so far (0: no penalty yet). */
  consolidated = 0;
  private fisher: tf.Tensor[] | null = null;
  private thetaStar: tf.Tensor[] | null = null;

  constructor(config: EwcConfig) {
    super(config);
    const d = baselineDefaults(config.benchmark ?? 'split-mnist', config.layout.scenario);
    this.lambda = checkNumber('lambda', config.lambda ?? d.ewcLambda, (x) => x >= 0, 'a number ≥ 0');
    this.gamma = checkNumber('gamma', config.gamma ?? d.ewcGamma, (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
    const n = config.fisherN ?? null;
    this.fisherN = n === null ? null : checkPositiveInt('fisherN', n);
    const labels = config.fisherLabels ?? 'pred';
    if (!FISHER_LABELS.includes(labels))
      throw new ConfigError(
        'fisherLabels',
        `must be one of ${FISHER_LABELS.join(', ')}, got ${JSON.stringify(labels)}`,
      );
    this.fisherLabels = labels;
    this.fisherBatch = config.fisherBatch === undefined ? null : checkPositiveInt('fisherBatch', config.fisherBatch);
  }

  penalty(): { value: tf.Scalar; grads: tf.Tensor[] } | null {
    if (!this.fisher || !this.thetaStar || this.lambda === 0) return null;
    const F = this.fisher;
    const star = this.thetaStar;
    const s = this.lambda * this.gamma;
    return tf.tidy(() => {
      const diffs = this.vars.map((v, i) => tf.sub(v, star[i]!));
      const grads = diffs.map((d, i) => tf.mul(tf.mul(F[i]!, d), s));
      const value = tf.mul(tf.addN(diffs.map((d, i) => tf.sum(tf.mul(F[i]!, tf.square(d))))), s / 2) as tf.Scalar;
      return { value, grads };
    });
  }

  /** The accumulated Fisher F̃ and the anchor θ* (views; null before the first endTask). */
  importance(): { fisher: Weights; thetaStar: Weights } | null {
    if (!this.fisher || !this.thetaStar) return null;
    const fisher: Weights = {};
    const thetaStar: Weights = {};
    this.names.forEach((n, i) => {
      fisher[n] = this.fisher![i]!;
      thetaStar[n] = this.thetaStar![i]!;
    });
    return { fisher, thetaStar };
  }

  endTask(task: number, train: DataSplit): void {
    this.checkEndTask(task);
    const Ft = diagonalFisher(this.target, this.weights, this.layout, task, train, {
      samples: this.fisherN,
      labels: this.fisherLabels,
      batchSize: this.fisherBatch ?? undefined,
      rng: this.rng,
    });
    const fresh = this.names.map((n) => Ft[n]!);
    const old = this.fisher;
    this.fisher = old ? tf.tidy(() => fresh.map((f, i) => tf.add(f, tf.mul(old[i]!, this.gamma)))) : fresh;
    if (old) tf.dispose([...old, ...fresh]);
    if (this.thetaStar) tf.dispose(this.thetaStar);
    this.thetaStar = this.vars.map((v) => tf.clone(v));
    this.consolidated++;
  }

  protected extraState(): MethodState {
    const tensors: Record<string, tf.Tensor> = {};
    if (this.fisher && this.thetaStar)
      this.names.forEach((n, i) => {
        tensors[`ewc/fisher/${n}`] = this.fisher![i]!;
        tensors[`ewc/theta_star/${n}`] = this.thetaStar![i]!;
      });
    return { tensors, meta: { consolidated: this.consolidated, lambda: this.lambda, gamma: this.gamma } };
  }

  protected checkExtra(state: MethodState): void {
    const c = state.meta.consolidated;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0)
      throw new ConfigError('checkpoint', `ewc state has ${String(c)} consolidated tasks`);
    if (c > 0)
      for (const n of this.names) for (const k of ['fisher', 'theta_star']) this.pick(state, `ewc/${k}/${n}`, n);
  }

  protected assignExtra(state: MethodState): void {
    this.disposeExtra();
    const c = state.meta.consolidated as number;
    this.consolidated = c;
    if (c > 0) {
      this.fisher = this.names.map((n) => tf.clone(state.tensors[`ewc/fisher/${n}`]!));
      this.thetaStar = this.names.map((n) => tf.clone(state.tensors[`ewc/theta_star/${n}`]!));
    }
  }

  protected override disposeExtra(): void {
    if (this.fisher) tf.dispose(this.fisher);
    if (this.thetaStar) tf.dispose(this.thetaStar);
    this.fisher = null;
    this.thetaStar = null;
  }
}
