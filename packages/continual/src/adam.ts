import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@hypernets/core';

export interface AdamConfig {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/**
 * Adam with PyTorch's update (θ ← θ − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)), written out so that
 * (a) the continual-learning lookahead can ask for the step Adam *would* take without taking
 * it (hypnettorch's `calc_delta_theta`), and (b) its whole state (t, m, v) is plain tensors a
 * checkpoint saves and restores bit for bit.
 */
export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Steps taken (bias correction). */
  t = 0;
  private m: tf.Variable[];
  private v: tf.Variable[];

  constructor(
    readonly vars: readonly tf.Variable[],
    config: AdamConfig,
  ) {
    if (!(config.lr > 0)) throw new ConfigError('lr', `must be > 0, got ${config.lr}`);
    this.lr = config.lr;
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.999;
    this.eps = config.eps ?? 1e-8;
    this.m = vars.map((x) => tf.variable(tf.zerosLike(x), false));
    this.v = vars.map((x) => tf.variable(tf.zerosLike(x), false));
  }

  private moments(grads: readonly tf.Tensor[], i: number): { m: tf.Tensor; v: tf.Tensor } {
    const g = grads[i]!;
    return {
      m: tf.add(tf.mul(this.m[i]!, this.beta1), tf.mul(g, 1 - this.beta1)),
      v: tf.add(tf.mul(this.v[i]!, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)),
    };
  }

  private delta(m: tf.Tensor, v: tf.Tensor, t: number): tf.Tensor {
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    return tf.mul(tf.div(m, tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps)), -this.lr / bc1);
  }

  private check(grads: readonly tf.Tensor[]): void {
    if (grads.length !== this.vars.length) throw new ConfigError('grads', `Adam over ${this.vars.length} variables got ${grads.length} gradients`);
  }

  /** The update Δθ this step would apply for `grads`, without changing any state. */
  candidate(grads: readonly tf.Tensor[]): tf.Tensor[] {
    this.check(grads);
    return tf.tidy(() =>
      grads.map((_, i) => {
        const { m, v } = this.moments(grads, i);
        return this.delta(m, v, this.t + 1);
      }),
    );
  }

  /** Applies one step. */
  step(grads: readonly tf.Tensor[]): void {
    this.check(grads);
    this.t++;
    tf.tidy(() => {
      grads.forEach((_, i) => {
        const { m, v } = this.moments(grads, i);
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        this.vars[i]!.assign(tf.add(this.vars[i]!, this.delta(m, v, this.t)));
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
      if (x.shape.join() !== like.shape.join()) throw new ConfigError('checkpoint', `optimizer slot '${k}' has shape [${x.shape}], expected [${like.shape}]`);
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

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
