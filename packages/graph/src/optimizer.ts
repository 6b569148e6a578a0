import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@hypernets/core';

export interface AdamConfig {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 penalty added to the gradient, as torch.optim.Adam's `weight_decay` (not AdamW's decoupled decay). Default 0. */
  weightDecay?: number;
}

/**
 * torch.optim.Adam, the optimiser ppuda's train_ghn.py meta-trains GHNs with:
 * g ← g + wd·θ; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
 * θ ← θ − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε). The learning rate is passed per step (MultiStepLR
 * lives in the trainer), the step count t is a plain integer and the moments are float32
 * variables, so a checkpoint restores the optimiser bit for bit (tf.train.adam recomputes its
 * β powers with pow() on setWeights, which need not equal the running products it had).
 *
 * The same update as @hypernets/continual's Adam (plus weight decay, minus the lookahead);
 * graph cannot import it (continual sits above graph), hence this small copy.
 */
export class Adam {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken. */
  t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    readonly vars: readonly tf.Variable[],
    config: AdamConfig = {},
  ) {
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.999;
    this.eps = config.eps ?? 1e-8;
    this.weightDecay = config.weightDecay ?? 0;
    if (!(this.weightDecay >= 0)) throw new ConfigError('weightDecay', `must be ≥ 0, got ${config.weightDecay}`);
    // tidy frees the zerosLike tensors (variables outlive it)
    this.m = tf.tidy(() => vars.map((x) => tf.variable(tf.zerosLike(x), false)));
    this.v = tf.tidy(() => vars.map((x) => tf.variable(tf.zerosLike(x), false)));
  }

  /**
   * One step at learning rate `lr`. `grads[i]` belongs to `vars[i]`; null: the variable got no
   * gradient and is left alone (torch skips parameters whose .grad is None).
   */
  step(grads: readonly (tf.Tensor | null)[], lr: number): void {
    if (grads.length !== this.vars.length) throw new ConfigError('grads', `Adam over ${this.vars.length} variables got ${grads.length} gradients`);
    this.t++;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = Math.sqrt(1 - this.beta2 ** this.t);
    tf.tidy(() => {
      grads.forEach((g0, i) => {
        if (g0 === null) return;
        const x = this.vars[i]!;
        const g = this.weightDecay > 0 ? tf.add(g0, tf.mul(x, this.weightDecay)) : g0;
        const m = tf.add(tf.mul(this.m[i]!, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[i]!, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        x.assign(tf.sub(x, tf.mul(tf.div(m, tf.add(tf.div(tf.sqrt(v), bc2), this.eps)), lr / bc1)));
      });
    });
  }

  /** The moment variables by `${prefix}exp_avg.${names[i]}` / `${prefix}exp_avg_sq.${names[i]}` (PyTorch's state names; views, do not dispose). */
  slots(names: readonly string[], prefix = 'adam.'): Record<string, tf.Variable> {
    if (names.length !== this.vars.length) throw new ConfigError('names', `Adam over ${this.vars.length} variables got ${names.length} names`);
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
