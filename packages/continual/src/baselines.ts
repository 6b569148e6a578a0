import * as tf from '@tensorflow/tfjs-core';
import { Adam, ConfigError, MLP, Rng, activate, checkPositiveInt, countParams, createVariables, linear, sameShape, type InitScheme, type TargetNet, type Weights } from '@hypernets/core';
import type { Batch, DataSplit } from '@hypernets/data';
import type { ContinualMethod, MethodState, StepLosses } from './method.js';
import { activeLabels, activeLogits, taskLoss, type HeadLayout, type Scenario } from './scenario.js';

/**
 * Baselines that train the target network's own weights θ directly (no hypernetwork), on the
 * same protocol as HnetMethod: plain fine-tuning, online EWC and Synaptic Intelligence. They
 * are unconditioned (`conditioned = false`): in cl3 they train class-incrementally (softmax
 * over the classes of tasks 0…t, see `taskLoss`).
 *
 * Defaults follow van de Ven & Tolias (2019), "Three scenarios for continual learning"
 * (github.com/GMvandeVen/continual-learning, `param_values.py` of that release, grid-searched
 * per experiment and scenario; the optimiser is one Adam, lr 1e-3, β = (0.9, 0.999), kept
 * across tasks).
 */

export type Benchmark = 'split-mnist' | 'permuted-mnist';
export const BENCHMARKS: readonly Benchmark[] = ['split-mnist', 'permuted-mnist'];

/** How EWC labels each sample when it estimates the Fisher. */
export type FisherLabels = 'pred' | 'all' | 'true';
export const FISHER_LABELS: readonly FisherLabels[] = ['pred', 'all', 'true'];

export interface BaselineDefaults {
  /** Online-EWC regularisation strength λ (`o_lambda`). */
  ewcLambda: number;
  /** Online-EWC decay γ of the accumulated Fisher (`gamma`). */
  ewcGamma: number;
  /** SI regularisation strength c (`si_c`). */
  siC: number;
  /** SI damping ξ (`epsilon`). */
  siXi: number;
}

/**
 * van de Ven & Tolias (2019)'s grid-searched hyper-parameters (their `param_values.py`,
 * `o_lambda`, `gamma`, `si_c`; `epsilon` = 0.1 everywhere). cl1/cl2/cl3 are their
 * task-/domain-/class-incremental scenarios. Their λ are large because their Fisher (predicted
 * labels, a well-trained network) is small; ours is the same estimate, so the same scale holds.
 */
const VAN_DE_VEN: Record<Benchmark, Record<Scenario, BaselineDefaults>> = {
  'split-mnist': {
    cl1: { ewcLambda: 1e8, ewcGamma: 0.8, siC: 50, siXi: 0.1 },
    cl2: { ewcLambda: 1e8, ewcGamma: 0.7, siC: 500, siXi: 0.1 },
    cl3: { ewcLambda: 1e9, ewcGamma: 0.8, siC: 0.5, siXi: 0.1 },
  },
  'permuted-mnist': {
    cl1: { ewcLambda: 500, ewcGamma: 0.8, siC: 5, siXi: 0.1 },
    cl2: { ewcLambda: 1000, ewcGamma: 0.9, siC: 5, siXi: 0.1 },
    cl3: { ewcLambda: 5, ewcGamma: 1, siC: 0.1, siXi: 0.1 },
  },
};

/** The defaults for a benchmark and scenario (a copy). */
export function baselineDefaults(benchmark: Benchmark, scenario: Scenario): BaselineDefaults {
  if (!BENCHMARKS.includes(benchmark)) throw new ConfigError('benchmark', `must be one of ${BENCHMARKS.join(', ')}, got ${JSON.stringify(benchmark)}`);
  const d = VAN_DE_VEN[benchmark][scenario];
  if (!d) throw new ConfigError('scenario', `must be one of cl1, cl2, cl3, got ${JSON.stringify(scenario)}`);
  return { ...d };
}

export interface BaselineConfig {
  target: TargetNet;
  layout: HeadLayout;
  /** Adam learning rate. Default 1e-3 (van de Ven's Split-MNIST; 1e-4 for their Permuted-MNIST). */
  lr?: number;
  /** Seed of the target's initial weights (and of the Fisher's sample draws). Default 0. */
  seed?: number;
  /** Initialiser of the target's weights. Default 'auto' (Kaiming for ReLU layers, Xavier otherwise). */
  init?: InitScheme;
}

function checkNumber(field: string, v: unknown, ok: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new ConfigError(field, `must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

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
export function diagonalFisher(target: TargetNet, weights: Weights, layout: HeadLayout, task: number, split: DataSplit, options: FisherOptions = {}): Weights {
  const labels = options.labels ?? 'pred';
  if (!FISHER_LABELS.includes(labels)) throw new ConfigError('fisherLabels', `must be one of ${FISHER_LABELS.join(', ')}, got ${JSON.stringify(labels)}`);
  const chunk = checkPositiveInt('fisherBatch', options.batchSize ?? (target instanceof MLP ? 256 : 16));
  const samples = options.samples ?? null;
  if (samples !== null) checkPositiveInt('fisherN', samples);
  if (split.size === 0) throw new ConfigError('train', `task ${task}'s training split is empty: the Fisher needs samples`);
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
        const sums = (targets: tf.Tensor, sampleWeight: tf.Tensor | null) => perSampleSquaredGradSum(target, weights, layout, task, batch.x, targets, sampleWeight);
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
function perSampleSquaredGradSum(target: TargetNet, weights: Weights, layout: HeadLayout, task: number, x: tf.Tensor, targets: tf.Tensor, sampleWeight: tf.Tensor | null): tf.Tensor[] {
  if (target instanceof MLP) return mlpSquaredGradSum(target, weights, layout, task, x, targets, sampleWeight);
  return tiledSquaredGradSum(target, weights, layout, task, x, targets, sampleWeight);
}

/** The MLP's forward (eval mode, as MLP.forward), with `probes` added to each layer's pre-activation. */
function mlpForward(net: MLP, weights: Weights, x: tf.Tensor, probes: readonly tf.Tensor[] | null, inputs: tf.Tensor[] | null): tf.Tensor {
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

function mlpSquaredGradSum(net: MLP, weights: Weights, layout: HeadLayout, task: number, x: tf.Tensor, targets: tf.Tensor, sampleWeight: tf.Tensor | null): tf.Tensor[] {
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

function tiledSquaredGradSum(target: TargetNet, weights: Weights, layout: HeadLayout, task: number, x: tf.Tensor, targets: tf.Tensor, sampleWeight: tf.Tensor | null): tf.Tensor[] {
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

/**
 * Shared machinery: the target's own weights as variables, one Adam over them (kept across
 * tasks, as van de Ven's default 'adam' optimiser), checkpointable state.
 */
abstract class TargetWeightsMethod implements ContinualMethod {
  abstract readonly name: 'finetune' | 'ewc' | 'si';
  readonly conditioned = false;
  readonly target: TargetNet;
  readonly layout: HeadLayout;
  readonly numParams: number;
  readonly lr: number;
  protected readonly weights: Record<string, tf.Variable>;
  protected readonly vars: tf.Variable[];
  protected readonly names: string[];
  protected readonly adam: Adam;
  protected rng: Rng;
  protected task = -1;

  constructor(config: BaselineConfig) {
    const { target, layout } = config;
    if (!target || !Array.isArray(target.params) || target.params.length === 0) throw new ConfigError('target', 'needs a TargetNet with at least one ParamSpec');
    if (target.stateSpecs && target.stateSpecs.length > 0)
      throw new ConfigError('target', `${target.name} has non-trainable state (${target.stateSpecs.map((s) => s.name).join(', ')}); the baselines train targets without batch-norm state`);
    if (!layout || !Number.isInteger(layout.outputs)) throw new ConfigError('layout', 'needs a HeadLayout (headLayout(stream, scenario))');
    const outSize = target.outputShape[target.outputShape.length - 1];
    if (outSize !== layout.outputs) throw new ConfigError('layout', `the layout needs ${layout.outputs} target outputs (${layout.scenario}, ${layout.numTasks} tasks × ${layout.classesPerTask} classes); ${target.name} has ${outSize}`);
    this.target = target;
    this.layout = layout;
    this.lr = checkNumber('lr', config.lr ?? 1e-3, (x) => x > 0, 'a number > 0');
    const seed = config.seed ?? 0;
    if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${JSON.stringify(seed)}`);
    this.rng = new Rng(seed);
    this.weights = createVariables(target.params, this.rng, config.init ?? 'auto');
    this.names = target.params.map((s) => s.name);
    this.vars = this.names.map((n) => this.weights[n]!);
    this.adam = new Adam(this.vars, { lr: this.lr });
    this.numParams = countParams(target.params);
  }

  beginTask(task: number): void {
    if (!Number.isInteger(task) || task < 0 || task >= this.layout.numTasks) throw new ConfigError('task', `must be an integer in [0, ${this.layout.numTasks - 1}], got ${task}`);
    this.task = task;
  }

  /** The regulariser's value and its (analytic) gradient per variable, or null when there is none yet. */
  abstract penalty(): { value: tf.Scalar; grads: tf.Tensor[] } | null;

  /** Applies the step; `taskGrads` are the task loss's gradients, `grads` those of loss + penalty. */
  protected applyStep(_taskGrads: readonly tf.Tensor[], grads: readonly tf.Tensor[]): void {
    this.adam.step(grads);
  }

  trainStep(batch: Batch, task: number): StepLosses {
    if (task !== this.task) throw new ConfigError('task', `trainStep(task ${task}) outside beginTask(${task}) (current task ${this.task})`);
    const { value: loss, grads } = tf.variableGrads(() => taskLoss(this.layout, this.target.forward(batch.x, this.weights), batch, task, false), this.vars);
    const g = this.vars.map((v) => grads[v.name]!);
    const pen = this.penalty();
    const total = pen ? tf.tidy(() => g.map((gi, i) => tf.add(gi, pen.grads[i]!))) : g;
    try {
      this.applyStep(g, total);
    } finally {
      tf.dispose(Object.values(grads));
      if (pen) tf.dispose([...pen.grads, ...total]);
    }
    return { loss, reg: pen ? pen.value : null };
  }

  abstract endTask(task: number, train: DataSplit): void | Promise<void>;

  protected checkEndTask(task: number): void {
    if (task !== this.task) throw new ConfigError('task', `endTask(${task}) but the current task is ${this.task}`);
  }

  outputs(x: tf.Tensor, _task: number): tf.Tensor {
    return tf.tidy(() => this.target.forward(x, this.weights));
  }

  /** The target's current weights (views of the variables; do not dispose). */
  currentWeights(): Readonly<Record<string, tf.Variable>> {
    return this.weights;
  }

  /** Method-specific tensors and meta for the checkpoint. */
  protected abstract extraState(): MethodState;
  /** Validates the method-specific part of a state (throws before anything is assigned). */
  protected abstract checkExtra(state: MethodState): void;
  /** Assigns the method-specific part (already validated). */
  protected abstract assignExtra(state: MethodState): void;

  state(): MethodState {
    const tensors: Record<string, tf.Tensor> = {};
    for (const n of this.names) tensors[`target/${n}`] = this.weights[n]!;
    const a = this.adam.state('adam/');
    Object.assign(tensors, a.tensors);
    const extra = this.extraState();
    Object.assign(tensors, extra.tensors);
    return { tensors, meta: { method: this.name, task: this.task, adam: a.t, rng: this.rng.getState(), ...extra.meta } };
  }

  /** A tensor of the state with the shape of ParamSpec `name` (throws ConfigError naming it). */
  protected pick(state: MethodState, key: string, name: string): tf.Tensor {
    const t = state.tensors[key];
    const spec = this.target.params.find((s) => s.name === name)!;
    if (!t) throw new ConfigError('checkpoint', `${this.name} state tensor '${key}' is missing`);
    if (!sameShape(t.shape, spec.shape)) throw new ConfigError('checkpoint', `${this.name} state tensor '${key}' has shape [${t.shape}], ParamSpec '${name}' needs [${spec.shape}]`);
    return t;
  }

  restore(state: MethodState): void {
    // Work on clones (same data, own references): assigning a variable its own tensor — a
    // restore of this method's own state() views — would otherwise free the data it keeps.
    const clones = Object.fromEntries(Object.entries(state.tensors).map(([k, v]) => [k, tf.clone(v)]));
    try {
      this.restoreFrom({ tensors: clones, meta: state.meta });
    } finally {
      tf.dispose(Object.values(clones));
    }
  }

  private restoreFrom(state: MethodState): void {
    const { tensors, meta } = state;
    if (meta.method !== this.name) throw new ConfigError('checkpoint', `the state belongs to method ${JSON.stringify(meta.method)}, not '${this.name}'`);
    const task = meta.task;
    if (typeof task !== 'number' || !Number.isInteger(task) || task < -1 || task >= this.layout.numTasks) throw new ConfigError('checkpoint', `${this.name} state names task ${String(task)}`);
    const t = meta.adam;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0) throw new ConfigError('checkpoint', `${this.name} state has Adam step ${String(t)}`);
    if (!Array.isArray(meta.rng) || !meta.rng.every((v) => Number.isInteger(v))) throw new ConfigError('checkpoint', `${this.name} state has no valid rng state`);
    // validate everything first
    const w = this.names.map((n) => this.pick(state, `target/${n}`, n));
    this.names.forEach((n, i) => {
      for (const s of ['m', 'v']) {
        const k = `adam/${s}.${i}`;
        const x = tensors[k];
        if (!x) throw new ConfigError('checkpoint', `optimizer slot '${k}' is missing`);
        if (!sameShape(x.shape, this.vars[i]!.shape)) throw new ConfigError('checkpoint', `optimizer slot '${k}' has shape [${x.shape}], expected [${this.vars[i]!.shape}] (ParamSpec '${n}')`);
      }
    });
    this.checkExtra(state);
    const rng = new Rng(meta.rng as number[]);
    // assign
    w.forEach((x, i) => this.vars[i]!.assign(x));
    this.adam.restore('adam/', tensors, t);
    this.assignExtra(state);
    this.task = task;
    this.rng = rng;
  }

  protected disposeExtra(): void {}

  dispose(): void {
    this.adam.dispose();
    tf.dispose(this.vars);
    this.disposeExtra();
  }
}

/** Plain sequential training of the target (Adam on the task loss, no regulariser): the lower bound. */
export class FinetuneMethod extends TargetWeightsMethod {
  readonly name = 'finetune' as const;

  constructor(config: BaselineConfig) {
    super(config);
  }

  penalty(): null {
    return null;
  }

  endTask(task: number): void {
    this.checkEndTask(task);
  }

  protected extraState(): MethodState {
    return { tensors: {}, meta: {} };
  }
  protected checkExtra(): void {}
  protected assignExtra(): void {}
}

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
    if (!FISHER_LABELS.includes(labels)) throw new ConfigError('fisherLabels', `must be one of ${FISHER_LABELS.join(', ')}, got ${JSON.stringify(labels)}`);
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
    const Ft = diagonalFisher(this.target, this.weights, this.layout, task, train, { samples: this.fisherN, labels: this.fisherLabels, batchSize: this.fisherBatch ?? undefined, rng: this.rng });
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
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0) throw new ConfigError('checkpoint', `ewc state has ${String(c)} consolidated tasks`);
    if (c > 0) for (const n of this.names) for (const k of ['fisher', 'theta_star']) this.pick(state, `ewc/${k}/${n}`, n);
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
      tf.tidy(() => this.omega.forEach((w, i) => w.assign(tf.sub(w, tf.mul(taskGrads[i]!, tf.sub(this.vars[i]!, before[i]!))))));
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
    const next = tf.tidy(() => this.vars.map((v, i) => tf.add(this.bigOmega[i]!, tf.div(this.omega[i]!, tf.add(tf.square(tf.sub(v, this.thetaStar[i]!)), this.xi)))));
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
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0) throw new ConfigError('checkpoint', `si state has ${String(c)} consolidated tasks`);
    for (const n of this.names) for (const k of ['omega', 'importance', 'theta_star']) this.pick(state, `si/${k}/${n}`, n);
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
