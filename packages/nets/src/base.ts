import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  Rng,
  ShapeMismatchError,
  activate,
  checkWeights,
  countParams,
  initWeights,
  linear,
  paramSpec,
  type Activation,
  type ForwardOptions,
  type ParamSpec,
  type TargetNet,
  type Weights,
} from '@hypernets/core';
import { checkPositiveInt, denseSpecs, initArray } from '@hypernets/core/internal';
import {
  flattenWeights,
  generateFrom,
  splitFlat,
  type Condition,
  type ConditionMode,
  type FlatOrder,
  type HyperNet,
} from './hypernet.js';
import { VariableOwner } from './variables.js';
import { entryStats, hyperfanColumns, type EntryStats, type HyperInit } from './init.js';
import { mipEncode } from './mip.js';
import { hostDense, meanSquare } from './host-init.js';

export interface HyperMLPConfig {
  /** What to generate: a TargetNet (its `params`) or a ParamSpec list. */
  target: TargetNet | readonly ParamSpec[];
  /** Learned condition embeddings, one per id (`generate({ id })`). */
  numConditions?: number;
  /** Size of an external condition vector (`generate({ input })`). Exclusive with numConditions. */
  conditionSize?: number;
  /** Size of the learned condition embeddings (and of the internal unconditional input). Default 8. */
  embeddingSize?: number;
  /** Hidden layer widths of the hypernetwork. Default [100, 100]. */
  hiddenSizes?: readonly number[];
  /** Hidden activation. Default 'relu' (the hyperfan init assumes it). */
  activation?: Activation;
  /** Output-layer init. Default 'hyperfan-in'. */
  init?: HyperInit;
  /** Variance of generated entries whose own init is constant (bias, norm). Default 1e-4. */
  smallVariance?: number;
  /** Layout of each weight tensor in the flat output (see `FlatOrder`). Default 'native'. */
  flatOrder?: FlatOrder;
  /**
   * E[x²] of the external condition input, for the hyperfan init. Default 1 (0.5 with MIP,
   * exact for its cos/sin encoding).
   */
  inputSecondMoment?: number;
  /**
   * Magnitude Invariant Parametrization (Ortiz et al. 2024): inputs γ ∈ [0,1] encoded as
   * [cos(πγ/2), sin(πγ/2)] and θ = θ₀ + h(E(γ)), θ₀ learned and initialised like the target.
   * Needs conditionSize.
   */
  mip?: boolean;
  /** Std of MIP's h at init relative to hyperfan (h starts small, θ ≈ θ₀). Default 0.1. */
  mipOutputScale?: number;
  /** Seed (or Rng) for every initial value. Default 0. */
  seed?: number | Rng;
  name?: string;
}

/**
 * What HyperMLP and ChunkedHyperMLP share: condition handling (ids, external input, MIP,
 * unconditional), the MLP trunk, θ₀, variables, generate/split. Subclasses say how the trunk's
 * input is built and how its output becomes the flat target vector.
 */
export abstract class MLPHyperNetBase extends VariableOwner implements HyperNet {
  readonly name: string;
  readonly targetParams: readonly ParamSpec[];
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly mode: ConditionMode;
  readonly numConditions: number;
  readonly conditionSize: number;
  readonly embeddingSize: number;
  readonly hiddenSizes: readonly number[];
  readonly activation: Activation;
  readonly mip: boolean;
  /** Number of target parameters P. */
  readonly numTargetParams: number;
  /** Width of the features the condition contributes to the trunk input. */
  protected readonly condFeatures: number;
  protected readonly rng: Rng;
  protected readonly cfg: HyperMLPConfig;
  readonly flatOrder: FlatOrder;
  /**
   * Host copies of the values `build()` drew so far (embeddings, chunk embeddings, hidden
   * layers), by ParamSpec name: the init statistics are computed on them, never read back
   * from tensors. Set only while `build()` runs.
   */
  protected initValues: Record<string, Float32Array> | undefined;

  protected constructor(config: HyperMLPConfig, defaultName: string) {
    super();
    this.cfg = config;
    this.flatOrder = config.flatOrder ?? 'native';
    if (this.flatOrder !== 'native' && this.flatOrder !== 'torch')
      throw new ConfigError('flatOrder', `must be 'native' or 'torch', got ${String(this.flatOrder)}`);
    const targetParams = Array.isArray(config.target)
      ? (config.target as readonly ParamSpec[])
      : (config.target as TargetNet).params;
    if (!targetParams || targetParams.length === 0)
      throw new ConfigError('target', 'needs a TargetNet or a non-empty ParamSpec list');
    this.targetParams = targetParams;
    this.numTargetParams = countParams(targetParams);
    this.name = config.name ?? defaultName;
    ({
      mode: this.mode,
      numConditions: this.numConditions,
      conditionSize: this.conditionSize,
      mip: this.mip,
    } = resolveConditioning(config, 1));
    this.embeddingSize = checkPositiveInt('embeddingSize', config.embeddingSize ?? 8);
    const hidden = config.hiddenSizes ?? [100, 100];
    this.hiddenSizes = hidden.map((h, i) => checkPositiveInt(`hiddenSizes[${i}]`, h));
    this.activation = config.activation ?? 'relu';
    this.condFeatures = this.mode === 'input' ? (this.mip ? 2 : 1) * this.conditionSize : this.embeddingSize;
    this.inputShape = this.mode === 'input' ? [this.conditionSize] : [];
    this.outputShape = [this.numTargetParams];
    this.rng = config.seed instanceof Rng ? config.seed : new Rng(config.seed ?? 0);
    this.params = [];
  }

  /** Trunk input width (condition features, plus the chunk embedding for the chunked net). */
  protected abstract trunkInputSize(): number;
  /** Trunk output width. */
  protected abstract trunkOutputSize(): number;
  /** Extra ParamSpecs after the condition embeddings (chunk embeddings). */
  protected extraSpecs(): ParamSpec[] {
    return [];
  }
  /** Per-unit targets for the output layer (mean/variance of each output unit). */
  protected abstract outputStats(stats: EntryStats): EntryStats;
  /** Builds the trunk input [N, (K,) in] from condition features [N, F] (and ids). */
  protected abstract trunkInput(feats: tf.Tensor, ids: tf.Tensor | null, w: Weights, batch: number | null): tf.Tensor;
  /**
   * `trunkInput` on the host, for the init statistics: features [n, F] of conditions 0 … n−1
   * (row-major) → the trunk input's rows [rows, in], from `initValues`.
   */
  protected abstract trunkInputHost(feats: Float32Array, n: number): { x: Float32Array; rows: number };
  /** Turns the trunk output into the flat target [N, P]. */
  protected abstract trunkOutputToFlat(out: tf.Tensor, n: number): tf.Tensor;

  /** Called by subclasses once their fields exist: ParamSpecs and initial values. */
  protected build(): void {
    const specs: ParamSpec[] = [];
    const E = this.embeddingSize;
    if (this.mode !== 'input')
      specs.push(
        paramSpec({
          name: 'embeddings',
          shape: [this.numConditions, E],
          kind: 'embedding',
          layer: 0,
          fanIn: E,
          fanOut: E,
        }),
      );
    specs.push(...this.extraSpecs());
    const sizes = [this.trunkInputSize(), ...this.hiddenSizes];
    for (let l = 0; l < this.hiddenSizes.length; l++)
      specs.push(...denseSpecs(`fc${l + 1}`, sizes[l], sizes[l + 1], l + 1, this.activation));
    const d = sizes[sizes.length - 1];
    const outSize = this.trunkOutputSize();
    specs.push(...denseSpecs('out', d, outSize, this.hiddenSizes.length + 1, 'linear'));
    if (this.mip)
      specs.push(
        paramSpec({
          name: 'theta0',
          shape: [this.numTargetParams],
          kind: 'other',
          layer: this.hiddenSizes.length + 2,
          fanIn: 1,
          fanOut: 1,
        }),
      );
    (this as { params: readonly ParamSpec[] }).params = specs;

    // Initial values, drawn in ParamSpec order from one stream (same seed → same numbers).
    const init = this.cfg.init ?? 'hyperfan-in';
    const drawn: Record<string, Float32Array> = (this.initValues = {});
    const draw = (s: ParamSpec, scheme?: 'xavier-uniform') => {
      const a = initArray(s, this.rng, scheme);
      drawn[s.name] = a;
      return tf.tensor(a, [...s.shape], 'float32');
    };
    try {
      for (const s of specs) {
        let t: tf.Tensor;
        if (s.name === 'theta0') {
          t = tf.tidy(() => {
            const w = initWeights(this.targetParams, this.rng);
            return flattenWeights(this.targetParams, w, this.flatOrder);
          });
        } else if (init === 'xavier') {
          t = draw(s, 'xavier-uniform'); // weights Xavier-uniform; biases 0, embeddings N(0, 1) by kind
        } else if (s.name === 'out.weight' && init !== 'default') {
          const small = this.cfg.smallVariance ?? 1e-4;
          const stats = this.outputStats(entryStats(this.targetParams, init, small));
          const cols = hyperfanColumns(
            stats,
            d,
            this.lastHiddenSecondMoment(),
            this.mip ? (this.cfg.mipOutputScale ?? 0.1) : 1,
          );
          const std = cols.std;
          t = tf.tidy(() => tf.mul(this.rng.normal([d, outSize]), tf.tensor1d(std)));
          const bias = this.mip ? tf.zeros([outSize]) : tf.tensor1d(cols.bias);
          this.vars['out.bias'] = tf.variable(bias, true);
          bias.dispose(); // the variable keeps its own reference
        } else if (s.name === 'out.bias' && init !== 'default') {
          continue; // set with out.weight
        } else t = draw(s);
        this.vars[s.name] = tf.variable(t, true);
        t.dispose();
      }
    } finally {
      this.initValues = undefined;
    }
  }

  /** E[x²] of the trunk input: the hyperfan init divides by it (ReLU + Kaiming preserve it). */
  protected trunkSecondMoment(): number {
    if (this.mode !== 'input') return 1;
    return this.cfg.inputSecondMoment ?? (this.mip ? 0.5 : 1);
  }

  /**
   * E[a²] of the last hidden layer's activations, which the hyperfan scale divides by. With
   * learned embeddings the trunk's inputs are known at init, so it is measured on them (up to
   * 64 conditions): exact for this draw, whatever the activation, where the analytic value
   * (the input's E[x²], preserved by ReLU + Kaiming in expectation) fluctuates with narrow
   * hidden layers. External inputs are unknown at init: analytic, from `inputSecondMoment`.
   */
  protected lastHiddenSecondMoment(): number {
    if (this.mode === 'input') return this.trunkSecondMoment();
    const { h } = this.initHiddenActivations();
    const m2 = meanSquare(h);
    // All units dead on these inputs (tiny nets): fall back to the analytic value.
    return Number.isFinite(m2) && m2 > 1e-6 ? m2 : this.trunkSecondMoment();
  }

  /**
   * The last hidden layer's activations [rows, d] at init on conditions 0 … n−1 (n ≤ 64), on
   * the host from `initValues` (id and unconditional modes: the embeddings are drawn by now).
   */
  protected initHiddenActivations(): { h: Float32Array; n: number; rows: number } {
    const values = this.initValues;
    const emb = values?.embeddings;
    // invariant: only build() calls this, after drawing the embeddings (a bug here, not bad input).
    if (!values || !emb)
      throw new Error(`${this.name}: init statistics need the drawn embeddings (only inside build())`);
    const n = Math.min(this.numConditions, 64);
    const trunk = this.trunkInputHost(emb.subarray(0, n * this.embeddingSize), n);
    const rows = trunk.rows;
    let h = trunk.x;
    for (let l = 1; l <= this.hiddenSizes.length; l++)
      h = hostDense(h, rows, values[`fc${l}.weight`]!, values[`fc${l}.bias`], this.activation);
    return { h, n, rows };
  }

  /**
   * Condition inputs → flat target parameters [N, P]. x: int ids [N] (id mode), inputs
   * [N, conditionSize] (input mode), anything with leading dim N (unconditional). `weights`
   * are this net's own (`ownWeights()`), or generated ones, shared or per-sample [N, ...].
   */
  forward(x: tf.Tensor, weights: Weights, _options: ForwardOptions = {}): tf.Tensor {
    const batch = checkWeights(this.params, weights, this.name);
    const n = checkConditionBatch(x, batch, this, this.name);
    return tf.tidy(() => {
      const { feats, ids } = conditionFeatures(x, weights, batch, this);
      let h = this.trunkInput(feats, ids, weights, batch);
      for (let l = 1; l <= this.hiddenSizes.length; l++)
        h = activate(linear(h, weights[`fc${l}.weight`], weights[`fc${l}.bias`]), this.activation);
      let flat = this.trunkOutputToFlat(linear(h, weights['out.weight'], weights['out.bias']), n);
      if (this.mip) flat = tf.add(flat, weights.theta0!); // [P] broadcasts; per-sample [N, P] adds row-wise
      return flat;
    });
  }

  splitTarget(flat: tf.Tensor): Weights {
    return splitFlat(this.targetParams, flat, this.name, this.flatOrder);
  }

  generate(condition?: Condition): Weights {
    return generateFrom(this, this.vars, condition);
  }
}

/**
 * Rows `ids` of an embedding table: [rows, ...] shared (gather) or [N, rows, ...] per-sample
 * (a one-hot batched matmul, sample i reads its own table).
 */
export function lookup(table: tf.Tensor, ids: tf.Tensor, batch: number | null): tf.Tensor {
  return tf.tidy(() => {
    if (batch === null) return tf.gather(table, ids);
    const rows = table.shape[1]!;
    const rest = table.shape.slice(2);
    const flatTable = tf.reshape(table, [batch, rows, -1]);
    const oh = tf.reshape(tf.oneHot(ids, rows), [batch, 1, rows]);
    return tf.reshape(tf.matMul(oh, flatTable), [batch, ...rest]);
  });
}

/** How a hypernetwork is conditioned, validated (see HyperMLPConfig). */
export interface Conditioning {
  readonly mode: ConditionMode;
  /** Learned condition embeddings (id mode; `noneConditions` internal ones unconditional; 0 for input). */
  readonly numConditions: number;
  /** Width of the external condition input (input mode), else 0. */
  readonly conditionSize: number;
  readonly mip: boolean;
}

/**
 * Validates the condition fields of a config: numConditions or conditionSize (not both), MIP
 * only with conditionSize. `noneConditions`: how many internal embeddings an unconditional
 * net keeps (1 for the MLP nets' single learned input, 0 where the net needs none).
 */
export function resolveConditioning(
  config: Pick<HyperMLPConfig, 'numConditions' | 'conditionSize' | 'mip'>,
  noneConditions: number,
): Conditioning {
  if (config.numConditions !== undefined && config.conditionSize !== undefined)
    throw new ConfigError(
      'numConditions',
      'give either numConditions (learned embeddings) or conditionSize (external input), not both',
    );
  const mode: ConditionMode =
    config.conditionSize !== undefined ? 'input' : config.numConditions !== undefined ? 'id' : 'none';
  const numConditions =
    mode === 'id' ? checkPositiveInt('numConditions', config.numConditions) : mode === 'none' ? noneConditions : 0;
  const conditionSize = mode === 'input' ? checkPositiveInt('conditionSize', config.conditionSize) : 0;
  const mip = config.mip ?? false;
  if (mip && mode !== 'input')
    throw new ConfigError('mip', 'MIP encodes continuous inputs γ ∈ [0, 1]: configure conditionSize');
  return { mode, numConditions, conditionSize, mip };
}

/**
 * Checks a `forward` condition input against the conditioning and the weights' batch layout
 * (`checkWeights`'s result); returns the batch size N.
 */
export function checkConditionBatch(x: tf.Tensor, batch: number | null, c: Conditioning, owner: string): number {
  const shape = c.mode === 'input' ? [c.conditionSize] : [];
  if (x.rank < 1) throw new ShapeMismatchError(`condition input of ${owner}`, [-1, ...shape], x.shape, 'pass a batch');
  const n = x.shape[0];
  if (batch !== null && batch !== n)
    throw new ShapeMismatchError(`condition input of ${owner} (per-sample weights)`, [batch, ...shape], x.shape);
  if (c.mode === 'input' && (x.rank !== 2 || x.shape[1] !== c.conditionSize))
    throw new ShapeMismatchError(`condition input of ${owner}`, [n, c.conditionSize], x.shape);
  return n;
}

/**
 * Condition features [N, F] of a checked `forward` input: the external input (MIP-encoded
 * with MIP), or rows of `weights.embeddings` (condition ids; row 0 for every sample when
 * unconditional), with the ids used. Created tensors belong to the caller's tidy scope.
 */
export function conditionFeatures(
  x: tf.Tensor,
  weights: Weights,
  batch: number | null,
  c: Conditioning,
): { feats: tf.Tensor; ids: tf.Tensor | null } {
  if (c.mode === 'input') return { feats: c.mip ? mipEncode(x) : x, ids: null };
  const n = x.shape[0];
  const ids = c.mode === 'none' ? tf.zeros([n], 'int32') : tf.reshape(tf.cast(x, 'int32'), [n]);
  return { feats: lookup(weights.embeddings, ids, batch), ids };
}
