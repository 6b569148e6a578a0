import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  Rng,
  checkWeights,
  paramSpec,
  type ForwardOptions,
  type ParamSpec,
  type Weights,
} from '@hypernets/core';
import { numel } from '@hypernets/core/internal';
import type { Condition, HyperNet } from './hypernet.js';

export interface PerturbedHyperNetConfig {
  /** The hypernetwork whose output is the mean h(z). Owned: `dispose()` disposes it too. */
  inner: HyperNet;
  /** σ of the noise (fixed), or its initial value σ₀ when `learnSigma`. */
  sigma: number;
  /** One learned log σ per target tensor, initialised to log σ₀. Default false (σ fixed). */
  learnSigma?: boolean;
  /** Where ε comes from: an Rng (shared, advanced by every draw) or a seed for an owned one. Default 0. */
  rng?: Rng | number;
  name?: string;
}

/** Options of `generate` and `forward`. */
export interface PerturbOptions extends ForwardOptions {
  /** Add σ·ε (default); false returns the mean h(z) (evaluation). Also passed to the inner net. */
  sample?: boolean;
  /** (from ForwardOptions) ε from this stream instead of the net's own — a fixed seed fixes ε. */
  rng?: Rng;
}

/**
 * Implicit weight distribution around any hypernetwork: w = h(z) + σ·ε, ε ~ N(0, I) (the
 * noise of Krueger et al.'s Bayesian hypernetworks and hypnettorch's noisy outputs). σ is a
 * fixed number, or learned per target tensor as log σ (positive without constraints); the
 * sample is reparametrised, so gradients reach both h and log σ. ε is drawn from a seeded Rng
 * (same seed, same samples); a batch of conditions gets independent ε per sample.
 *
 * It is a HyperNet (and so a TargetNet): `params` are the inner net's followed by
 * `logSigma.<target tensor>` [1] when learned, and `forward(x, weights)` is the inner forward
 * plus noise — so an outer net can generate the mean net and the σ's per sample. `generate`
 * and `forward` draw ε the same way: with the same Rng state they give the same sample.
 */
export class PerturbedHyperNet implements HyperNet {
  readonly name: string;
  readonly inner: HyperNet;
  readonly targetParams: readonly ParamSpec[];
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly learnSigma: boolean;
  /** σ when fixed; σ₀ when learned. */
  readonly sigma: number;
  private readonly rng: Rng;
  private readonly sizes: number[];
  private readonly numTargetParams: number;
  /** log σ variables by ParamSpec name (`logSigma.<target>`), in target order; empty when fixed. */
  private readonly logSigma: Record<string, tf.Variable> = {};
  private readonly sigmaNames: string[];

  constructor(config: PerturbedHyperNetConfig) {
    const inner = config.inner;
    if (!inner || typeof inner.generate !== 'function' || !Array.isArray(inner.targetParams))
      throw new ConfigError('inner', 'needs a HyperNet (targetParams, generate, forward) to perturb');
    this.inner = inner;
    this.learnSigma = config.learnSigma ?? false;
    const s = config.sigma;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || (this.learnSigma && s === 0))
      throw new ConfigError(
        'sigma',
        `must be a finite number ${this.learnSigma ? '> 0 (σ₀ of a learned log σ)' : '≥ 0'}, got ${JSON.stringify(s)}`,
      );
    this.sigma = s;
    const r = config.rng ?? 0;
    if (!(r instanceof Rng) && !Number.isInteger(r))
      throw new ConfigError('rng', `must be an Rng or an integer seed, got ${JSON.stringify(r)}`);
    this.rng = r instanceof Rng ? r : new Rng(r);
    this.name = config.name ?? `perturbed-${inner.name}`;
    this.targetParams = inner.targetParams;
    this.sizes = this.targetParams.map((t) => numel(t.shape));
    this.numTargetParams = this.sizes.reduce((a, b) => a + b, 0);
    this.inputShape = inner.inputShape;
    this.outputShape = inner.outputShape;
    this.sigmaNames = this.learnSigma ? this.targetParams.map((t) => `logSigma.${t.name}`) : [];
    const taken = new Set(inner.params.map((p) => p.name));
    const clash = this.sigmaNames.find((n) => taken.has(n));
    if (clash)
      throw new ConfigError('inner', `its ParamSpec '${clash}' clashes with the learned log σ of the same name`);
    const layer = inner.params.reduce((m, p) => Math.max(m, p.layer), -1) + 1;
    this.params = [
      ...inner.params,
      // kind 'other': no ParamSpec kind means "constant log σ₀"; an outer net generating these
      // draws them like any other tensor.
      ...this.sigmaNames.map((name) => paramSpec({ name, shape: [1], kind: 'other', layer, fanIn: 1, fanOut: 1 })),
    ];
    for (const n of this.sigmaNames) {
      const init = tf.fill([1], Math.log(s));
      this.logSigma[n] = tf.variable(init, true);
      init.dispose(); // the variable keeps its own reference
    }
  }

  ownWeights(): Weights {
    return { ...this.inner.ownWeights(), ...this.logSigma };
  }

  /** The inner net's variables, then the log σ's (ParamSpec order). */
  trainableVariables(): tf.Variable[] {
    return [...this.inner.trainableVariables(), ...this.sigmaNames.map((n) => this.logSigma[n]!)];
  }

  /**
   * Current σ per target tensor (reads the variables with `await data()`, which works on every
   * backend: for logs and tests, not a training loop).
   */
  async sigmas(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [i, t] of this.targetParams.entries())
      out[t.name] = this.learnSigma ? Math.exp((await this.logSigma[this.sigmaNames[i]!]!.data())[0]!) : this.sigma;
    return out;
  }

  /**
   * σ·ε for n samples, [n, P]: per-tensor σ's broadcast over their entries (broadcastTo sums
   * in its gradient, so a shared log σ collects the gradient of every entry and sample).
   * `batch`: the layout of the log σ weights (null shared [1], else per-sample [n, 1]).
   */
  private noise(weights: Weights, batch: number | null, n: number, rng: Rng): tf.Tensor {
    const eps = rng.normal([n, this.numTargetParams]);
    if (!this.learnSigma) return tf.mul(eps, this.sigma);
    const rows = batch === null ? 1 : n;
    const parts = this.sigmaNames.map((name, i) =>
      tf.broadcastTo(tf.exp(tf.reshape(weights[name]!, [rows, 1])), [rows, this.sizes[i]!]),
    );
    const sigma = parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
    return tf.mul(sigma, eps);
  }

  /** Condition inputs [N, …] → flat perturbed target parameters [N, P] (see class doc). */
  forward(x: tf.Tensor, weights: Weights, options: PerturbOptions = {}): tf.Tensor {
    const batch = checkWeights(this.params, weights, this.name);
    const innerW: Weights = {};
    for (const p of this.inner.params) innerW[p.name] = weights[p.name]!;
    return tf.tidy(() => {
      const mean = this.inner.forward(x, innerW, options);
      if (options.sample === false) return mean;
      return tf.add(mean, this.noise(weights, batch, mean.shape[0]!, options.rng ?? this.rng));
    });
  }

  splitTarget(flat: tf.Tensor): Weights {
    return this.inner.splitTarget(flat);
  }

  /** A sample w = h(z) + σ·ε for the condition (a batch of independent samples for a batch). */
  generate(condition?: Condition, options: PerturbOptions = {}): Weights {
    return tf.tidy(() => {
      const mean = this.inner.generate(condition);
      if (options.sample === false) return mean;
      const first = this.targetParams[0]!;
      const batched = mean[first.name]!.rank === first.shape.length + 1;
      const n = batched ? mean[first.name]!.shape[0]! : 1;
      const noise = this.inner.splitTarget(this.noise(this.logSigma, null, n, options.rng ?? this.rng));
      const out: Weights = {};
      for (const t of this.targetParams)
        out[t.name] = tf.add(mean[t.name]!, batched ? noise[t.name]! : tf.reshape(noise[t.name]!, [...t.shape]));
      return out;
    });
  }

  /** Disposes the log σ variables and the inner net. */
  dispose(): void {
    for (const v of Object.values(this.logSigma)) v.dispose();
    this.inner.dispose();
  }
}
