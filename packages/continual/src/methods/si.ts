import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, type Weights } from '@hypernets/core';
import type { MethodState } from '../method.js';
import { TargetWeightsMethod, checkNumber, type BaselineConfig } from './baseline.js';
import { baselineDefaults, type Benchmark } from './defaults.js';

export interface SiConfig extends BaselineConfig {
  /** Picks the default c (see `baselineDefaults`). Default 'split-mnist'. */
  benchmark?: Benchmark;
  /** Regularisation strength c. Default: van de Ven's value for the benchmark and scenario. */
  c?: number;
  /** Damping ξ > 0 of Ω's denominator. Default 0.1 (van de Ven's `epsilon`). */
  xi?: number;
}

/**
 * Synaptic Intelligence (Zenke, Poole & Ganguli 2017). Each step adds ω_k += −g_k Δθ_k, g the
 * gradient of the task loss alone (Zenke's "unregularised" gradient; van de Ven's code uses the
 * total loss's) and Δθ the change the step actually made. After task t:
 * Ω_k += ω_k / ((θ_k − θ*_k)² + ξ), θ* ← θ, ω ← 0 (θ* starts at the initial weights). While
 * training: L = L_task + c Σ Ω_k (θ_k − θ*_k)². Ω is not clipped (as in both reference codes).
 */
export class SiMethod extends TargetWeightsMethod {
  readonly name = 'si' as const;
  readonly c: number;
  readonly xi: number;
  /** Tasks consolidated so far (0: Ω = 0, no penalty yet). */
  consolidated = 0;
  private omega: tf.Variable[];
  private bigOmega: tf.Tensor[];
  private thetaStar: tf.Tensor[];

  constructor(config: SiConfig) {
    super(config);
    const d = baselineDefaults(config.benchmark ?? 'split-mnist', config.layout.scenario);
    this.c = checkNumber('c', config.c ?? d.siC, (x) => x >= 0, 'a number ≥ 0');
    this.xi = checkNumber('xi', config.xi ?? d.siXi, (x) => x > 0, 'a number > 0');
    this.omega = tf.tidy(() => this.vars.map((v) => tf.variable(tf.zerosLike(v), false))); // tidy frees the initial zeros
    this.bigOmega = this.vars.map((v) => tf.zerosLike(v));
    this.thetaStar = this.vars.map((v) => tf.clone(v));
  }

  penalty(): { value: tf.Scalar; grads: tf.Tensor[] } | null {
    if (this.consolidated === 0 || this.c === 0) return null;
    const W = this.bigOmega;
    const star = this.thetaStar;
    return tf.tidy(() => {
      const diffs = this.vars.map((v, i) => tf.sub(v, star[i]!));
      const grads = diffs.map((d, i) => tf.mul(tf.mul(W[i]!, d), 2 * this.c));
      const value = tf.mul(tf.addN(diffs.map((d, i) => tf.sum(tf.mul(W[i]!, tf.square(d))))), this.c) as tf.Scalar;
      return { value, grads };
    });
  }

  protected override applyStep(taskGrads: readonly tf.Tensor[], grads: readonly tf.Tensor[]): void {
    const before = this.vars.map((v) => tf.clone(v));
    try {
      this.adam.step(grads);
      tf.tidy(() =>
        this.omega.forEach((w, i) => w.assign(tf.sub(w, tf.mul(taskGrads[i]!, tf.sub(this.vars[i]!, before[i]!))))),
      );
    } finally {
      tf.dispose(before);
    }
  }

  /** ω (this task's running path integral), Ω and θ* by ParamSpec name (views). */
  importance(): { omega: Weights; bigOmega: Weights; thetaStar: Weights } {
    const omega: Weights = {};
    const bigOmega: Weights = {};
    const thetaStar: Weights = {};
    this.names.forEach((n, i) => {
      omega[n] = this.omega[i]!;
      bigOmega[n] = this.bigOmega[i]!;
      thetaStar[n] = this.thetaStar[i]!;
    });
    return { omega, bigOmega, thetaStar };
  }

  endTask(task: number): void {
    this.checkEndTask(task);
    const next = tf.tidy(() =>
      this.vars.map((v, i) =>
        tf.add(this.bigOmega[i]!, tf.div(this.omega[i]!, tf.add(tf.square(tf.sub(v, this.thetaStar[i]!)), this.xi))),
      ),
    );
    tf.dispose([...this.bigOmega, ...this.thetaStar]);
    this.bigOmega = next;
    this.thetaStar = this.vars.map((v) => tf.clone(v));
    tf.tidy(() => this.omega.forEach((w) => w.assign(tf.zerosLike(w))));
    this.consolidated++;
  }

  protected extraState(): MethodState {
    const tensors: Record<string, tf.Tensor> = {};
    this.names.forEach((n, i) => {
      tensors[`si/omega/${n}`] = this.omega[i]!;
      tensors[`si/importance/${n}`] = this.bigOmega[i]!;
      tensors[`si/theta_star/${n}`] = this.thetaStar[i]!;
    });
    return { tensors, meta: { consolidated: this.consolidated, c: this.c, xi: this.xi } };
  }

  protected checkExtra(state: MethodState): void {
    const c = state.meta.consolidated;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0)
      throw new ConfigError('checkpoint', `si state has ${String(c)} consolidated tasks`);
    for (const n of this.names)
      for (const k of ['omega', 'importance', 'theta_star']) this.pick(state, `si/${k}/${n}`, n);
  }

  protected assignExtra(state: MethodState): void {
    this.consolidated = state.meta.consolidated as number;
    this.names.forEach((n, i) => this.omega[i]!.assign(state.tensors[`si/omega/${n}`]!));
    tf.dispose([...this.bigOmega, ...this.thetaStar]);
    this.bigOmega = this.names.map((n) => tf.clone(state.tensors[`si/importance/${n}`]!));
    this.thetaStar = this.names.map((n) => tf.clone(state.tensors[`si/theta_star/${n}`]!));
  }

  protected override disposeExtra(): void {
    tf.dispose([...this.omega, ...this.bigOmega, ...this.thetaStar]);
  }
}
