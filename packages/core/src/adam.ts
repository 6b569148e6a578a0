import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from './errors/index.js';
import { nativeAdamStep } from './kernels/native-adam.js';

export interface AdamConfig {
  /** Learning rate (step() may pass another per step, e.g. from a schedule). Default 1e-3. */
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 penalty added to the gradient, as torch.optim.Adam's `weight_decay`; with `decoupled`, AdamW's decay. Default 0. */
  weightDecay?: number;
  /**
   * AdamW (Loshchilov & Hutter 2019; torch.optim.AdamW): the decay shrinks the parameters,
   * θ ← θ·(1 − lr·weightDecay), before the Adam step on the plain gradient, instead of adding
   * weightDecay·θ to the gradient. Default false.
   */
  decoupled?: boolean;
}

/**
 * torch.optim.Adam (and, with `decoupled`, torch.optim.AdamW), written out: g ← g + wd·θ; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
 * θ ← θ − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε). Written out so that
 * - the continual-learning lookahead can ask for the step it *would* take without taking it
 *   (`candidate`, hypnettorch's `calc_delta_theta`);
 * - its whole state (t, m, v) is plain tensors that a checkpoint saves and restores bit for bit
 *   (tf.train.adam recomputes its β powers with pow() on setWeights, which need not equal the
 *   running products it had).
 * One implementation for @hypernets/continual (task-conditioned hypernetworks, EWC, SI) and
 * @hypernets/graph (GHN meta-training, ppuda's optimiser).
 *
 * On wasm with @hypernets/native loaded, `step` updates each variable in one native pass, in place
 * (kernels/native-adam.ts), with the same float32 roundings as these kernels: the same bits. (A
 * JS loop over the wasm heap was tried before and measured no faster than the ~13 SIMD kernels.)
 */
export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  /** Steps taken (bias correction). */
  t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    readonly vars: readonly tf.Variable[],
    config: AdamConfig = {},
  ) {
    this.lr = config.lr ?? 1e-3;
    if (!(this.lr > 0)) throw new ConfigError('lr', `must be > 0, got ${config.lr}`);
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.999;
    this.eps = config.eps ?? 1e-8;
    this.weightDecay = config.weightDecay ?? 0;
    if (!(this.weightDecay >= 0)) throw new ConfigError('weightDecay', `must be ≥ 0, got ${config.weightDecay}`);
    this.decoupled = config.decoupled ?? false;
    // tidy frees the zerosLike tensors (variables outlive it)
    this.m = tf.tidy(() => vars.map((x) => tf.variable(tf.zerosLike(x), false)));
    this.v = tf.tidy(() => vars.map((x) => tf.variable(tf.zerosLike(x), false)));
  }

  private check(grads: readonly (tf.Tensor | null)[]): void {
    if (grads.length !== this.vars.length)
      throw new ConfigError('grads', `Adam over ${this.vars.length} variables got ${grads.length} gradients`);
  }

  /** 1 − lr·weightDecay, what AdamW multiplies the parameters by (1 without decoupled decay). */
  private shrink(lr: number): number {
    return this.decoupled && this.weightDecay > 0 ? 1 - lr * this.weightDecay : 1;
  }

  /** m', v' and the Adam part of Δθ for variable i at step t (AdamW's shrink of θ is the caller's). */
  private update(i: number, g0: tf.Tensor, t: number, lr: number): { m: tf.Tensor; v: tf.Tensor; d: tf.Tensor } {
    const x = this.vars[i]!;
    const g = this.weightDecay > 0 && !this.decoupled ? tf.add(g0, tf.mul(x, this.weightDecay)) : g0;
    const m = tf.add(tf.mul(this.m[i]!, this.beta1), tf.mul(g, 1 - this.beta1));
    const v = tf.add(tf.mul(this.v[i]!, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = Math.sqrt(1 - this.beta2 ** t);
    const d = tf.mul(tf.div(m, tf.add(tf.div(tf.sqrt(v), bc2), this.eps)), -lr / bc1);
    return { m, v, d };
  }

  /** The update Δθ this step would apply for `grads`, without changing any state. */
  candidate(grads: readonly tf.Tensor[], lr = this.lr): tf.Tensor[] {
    this.check(grads);
    const t = this.t + 1;
    const shrink = this.shrink(lr);
    return tf.tidy(() =>
      grads.map((g, i) => {
        const { d } = this.update(i, g, t, lr);
        // AdamW: θ·shrink + d − θ
        return shrink === 1 ? d : tf.add(tf.mul(this.vars[i]!, shrink - 1), d);
      }),
    );
  }

  /**
   * One step (at `lr`, default the configured one). `grads[i]` belongs to `vars[i]`; null: the
   * variable got no gradient and is left alone (torch skips parameters whose .grad is None).
   */
  step(grads: readonly (tf.Tensor | null)[], lr = this.lr): void {
    this.check(grads);
    this.t++;
    const t = this.t;
    const shrink = this.shrink(lr);
    const constants = {
      weightDecay: this.decoupled ? 0 : this.weightDecay,
      shrink,
      beta1: this.beta1,
      oneMinusBeta1: 1 - this.beta1,
      beta2: this.beta2,
      oneMinusBeta2: 1 - this.beta2,
      biasCorrection2: Math.sqrt(1 - this.beta2 ** t),
      eps: this.eps,
      scale: -lr / (1 - this.beta1 ** t),
    };
    tf.tidy(() => {
      grads.forEach((g, i) => {
        if (g === null) return;
        const x = this.vars[i]!;
        if (nativeAdamStep(x, g, this.m[i]!, this.v[i]!, constants)) return;
        const { m, v, d } = this.update(i, g, t, lr);
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        x.assign(tf.add(shrink === 1 ? x : tf.mul(x, shrink), d));
      });
    });
  }

  /** State tensors `${prefix}m.${i}`, `${prefix}v.${i}` (views; do not dispose) and the step count. */
  state(prefix: string): { tensors: Record<string, tf.Tensor>; t: number } {
    const tensors: Record<string, tf.Tensor> = {};
    this.m.forEach((m, i) => (tensors[`${prefix}m.${i}`] = m));
    this.v.forEach((v, i) => (tensors[`${prefix}v.${i}`] = v));
    return { tensors, t: this.t };
  }

  /** Restores `state(prefix)`'s tensors; validates every shape before assigning any. */
  restore(prefix: string, tensors: Record<string, tf.Tensor>, t: number): void {
    const pick = (k: string, like: tf.Tensor) => {
      const x = tensors[k];
      if (!x) throw new ConfigError('checkpoint', `optimizer slot '${k}' is missing`);
      if (x.shape.join() !== like.shape.join())
        throw new ConfigError('checkpoint', `optimizer slot '${k}' has shape [${x.shape}], expected [${like.shape}]`);
      return x;
    };
    const ms = this.m.map((m, i) => pick(`${prefix}m.${i}`, m));
    const vs = this.v.map((v, i) => pick(`${prefix}v.${i}`, v));
    // assign() frees the variable's old data: clone first, so restoring from our own state() views is safe.
    tf.tidy(() => {
      ms.forEach((x, i) => this.m[i]!.assign(tf.clone(x)));
      vs.forEach((x, i) => this.v[i]!.assign(tf.clone(x)));
    });
    this.t = t;
  }

  /** The moment variables by `${prefix}exp_avg.${names[i]}` / `${prefix}exp_avg_sq.${names[i]}` (PyTorch's state names; views, do not dispose). */
  slots(names: readonly string[], prefix = 'adam.'): Record<string, tf.Variable> {
    if (names.length !== this.vars.length)
      throw new ConfigError('names', `Adam over ${this.vars.length} variables got ${names.length} names`);
    const out: Record<string, tf.Variable> = {};
    names.forEach((n, i) => {
      out[`${prefix}exp_avg.${n}`] = this.m[i]!;
      out[`${prefix}exp_avg_sq.${n}`] = this.v[i]!;
    });
    return out;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
