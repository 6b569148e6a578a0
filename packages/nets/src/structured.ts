import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  Rng,
  checkWeights,
  countParams,
  initWeights,
  linear,
  paramSpec,
  type ForwardOptions,
  type ParamSpec,
  type TargetNet,
  type Weights,
} from '@hypernets/core';
import { denseSpecs, initArray, initTensor, checkPositiveInt } from '@hypernets/core/internal';
import { checkConditionBatch, conditionFeatures, resolveConditioning, type HyperMLPConfig } from './base.js';
import {
  flattenWeights,
  generateFrom,
  splitFlat,
  type Condition,
  type ConditionMode,
  type HyperNet,
} from './hypernet.js';
import { VariableOwner } from './variables.js';
import { hyperfanColumns, specStats, type HyperInit } from './init.js';
import { hostDense, meanSquare } from './host-init.js';

export interface StructuredHyperMLPConfig extends Pick<
  HyperMLPConfig,
  | 'target'
  | 'numConditions'
  | 'conditionSize'
  | 'mip'
  | 'mipOutputScale'
  | 'inputSecondMoment'
  | 'init'
  | 'seed'
  | 'name'
> {
  /** Input channels of the basic block. Default: the first target tensor's Nin. */
  blockIn?: number;
  /** Output channels of the basic block. Default: the first target tensor's Nout. */
  blockOut?: number;
  /** Nz, the size of the learned block embeddings z. Default 4 (the paper's MNIST; 64 for its ResNets). */
  embeddingSize?: number;
  /** d, the width of each a_i = W_i z + B_i. Default Nz. */
  hiddenSize?: number;
  /** Size of the learned condition embeddings (`numConditions`). Default Nz. */
  conditionEmbeddingSize?: number;
}

/** Where one target tensor's blocks sit: `rows × cols` blocks from `offset` in the block table. */
export interface BlockTiling {
  readonly spec: ParamSpec;
  /** Nin / blockIn. */
  readonly rows: number;
  /** Nout / blockOut. */
  readonly cols: number;
  /** Index of its first block embedding. */
  readonly offset: number;
  /** Fixed factor its generated kernel is multiplied by (1 unless init variances differ). */
  readonly gain: number;
}

const INITS: readonly HyperInit[] = ['hyperfan-in', 'hyperfan-out', 'default'];

/** [kh, kw, Nin, Nout] of a weight [in, out] (kh = kw = 1) or conv kernel, else null. */
function kernelDims(s: ParamSpec): [number, number, number, number] | null {
  if (s.shape.length === 2) return [1, 1, s.shape[0]!, s.shape[1]!];
  if (s.shape.length === 4) return s.shape as unknown as [number, number, number, number];
  return null;
}

/**
 * Static hypernetwork of Ha, Dai & Le ("HyperNetworks", 2016, §3.1): chunking that follows the
 * architecture. The target kernels — conv kernels [kh, kw, Nin, Nout] or weights [Nin, Nout]
 * (kh = kw = 1) — are tiled by a basic block [kh, kw, blockIn, blockOut]; every block b has a
 * learned embedding z_b ∈ R^Nz, and one generator shared by all blocks makes its kernel:
 *
 *   a_i = W_i z_b + B_i                 i = 1 … blockIn,  W_i ∈ R^{d×Nz}, B_i ∈ R^d
 *   K_i = a_iᵀ W_out + B_out            W_out ∈ R^{d×(kh·kw·blockOut)}: the [kh, kw, blockOut] slice
 *   K_b = concat_i K_i                  for input channel i
 *
 * and a tensor of Nin/blockIn × Nout/blockOut blocks is their concatenation (block (r, c) fills
 * input channels r·blockIn… and output channels c·blockOut…). For Ha et al.'s MNIST net
 * (conv2 7×7×16×16, Nz = d = 4) that is 4 + 16·(4·4+4) + 784·(4+1) = 4,244 parameters.
 *
 * Conditions (`{ id }`, `{ input }`, MIP) as in HyperMLP: the condition's features (its learned
 * embedding, or the external input, MIP-encoded with MIP) are concatenated to every block
 * embedding before the first layer, [z_b ; c], so the W_i become [d × (Nz + F)]. Unconditional,
 * the block embeddings are the only input (the paper's setting). With MIP, θ = θ₀ + h(E(γ)).
 *
 * Init ('hyperfan-in', in the spirit of Chang et al. 2020): z ~ N(0, 1), B_i = B_out = 0,
 * W_i ~ N(0, 1/(Nz + F·E[c²])) so that E[a²] = 1, and W_out ~ N(0, v/(d·E[a²])) so a generated
 * entry has the target's init variance v (`targetVariance`): Var(K) = d·Var(W_out)·E[a²].
 * E[a²] is taken over the known inputs at init (block and condition embeddings; the external
 * input's part analytically), as HyperMLP does. One W_out cannot give tensors with different
 * init variances (layers of different fanIn): each tensor's kernel is multiplied by a fixed
 * gain √(v_t / v_first), 1 for tensors like the first.
 *
 * Own ParamSpecs: `embeddings` [numConditions, E] (id mode), `blockEmbeddings` [blocks, Nz]
 * (target order, row-major within a tensor), `in.weight` [Nz + F, blockIn·d] (W_i = columns
 * i·d…), `in.bias` [blockIn·d], `out.weight` [d, kh·kw·blockOut], `out.bias`, and `theta0`
 * [P] with MIP.
 */
export class StructuredHyperMLP extends VariableOwner implements HyperNet {
  readonly name: string;
  readonly targetParams: readonly ParamSpec[];
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly mode: ConditionMode;
  readonly numConditions: number;
  readonly conditionSize: number;
  readonly mip: boolean;
  /** Basic block [kh, kw, blockIn, blockOut]. */
  readonly block: readonly [number, number, number, number];
  readonly embeddingSize: number;
  readonly hiddenSize: number;
  readonly numBlocks: number;
  readonly tiling: readonly BlockTiling[];
  readonly numTargetParams: number;
  /** Width F of the condition features concatenated to each block embedding (0 unconditional). */
  readonly conditionFeatureSize: number;

  constructor(config: StructuredHyperMLPConfig) {
    super();
    const targetParams = Array.isArray(config.target)
      ? (config.target as readonly ParamSpec[])
      : (config.target as TargetNet)?.params;
    if (!targetParams || targetParams.length === 0)
      throw new ConfigError('target', 'needs a TargetNet or a non-empty ParamSpec list');
    this.targetParams = targetParams;
    this.numTargetParams = countParams(targetParams);
    this.name = config.name ?? 'structured-hyper-mlp';
    ({
      mode: this.mode,
      numConditions: this.numConditions,
      conditionSize: this.conditionSize,
      mip: this.mip,
    } = resolveConditioning(config, 0));
    const Nz = (this.embeddingSize = checkPositiveInt('embeddingSize', config.embeddingSize ?? 4));
    const d = (this.hiddenSize = checkPositiveInt('hiddenSize', config.hiddenSize ?? Nz));
    const condEmb = checkPositiveInt('conditionEmbeddingSize', config.conditionEmbeddingSize ?? Nz);
    const init = config.init ?? 'hyperfan-in';
    if (!INITS.includes(init))
      throw new ConfigError('init', `must be one of ${INITS.join(', ')}, got ${JSON.stringify(init)}`);

    const untileable = (s: ParamSpec, block: string) =>
      new ConfigError(
        'target',
        `ParamSpec '${s.name}' [${s.shape.join(', ')}] (${s.kind}) cannot be tiled by the block ${block} of ${this.name}: ` +
          'only weights [Nin, Nout] and conv kernels [kh, kw, Nin, Nout] whose kh, kw match and whose Nin, Nout are multiples of blockIn, blockOut. ' +
          'Pass only the tensors to generate, as a ParamSpec list ' +
          "(e.g. haMnist().params.filter((s) => s.name === 'conv2.weight')), and train the rest directly",
      );
    const first = kernelDims(targetParams[0]!);
    if (first === null || targetParams[0]!.kind === 'bias')
      throw untileable(targetParams[0]!, '(none: the first tensor sets its kh, kw)');
    const [kh, kw] = first;
    const bi = checkPositiveInt('blockIn', config.blockIn ?? first[2]);
    const bo = checkPositiveInt('blockOut', config.blockOut ?? first[3]);
    this.block = [kh, kw, bi, bo];
    const gainMode = init === 'hyperfan-out' ? 'hyperfan-out' : 'hyperfan-in';
    const vFirst = specStats(targetParams[0]!, gainMode, 0).v;
    let offset = 0;
    this.tiling = targetParams.map((s) => {
      const k = kernelDims(s);
      const fits = k !== null && s.kind !== 'bias' && k[0] === kh && k[1] === kw && k[2] % bi === 0 && k[3] % bo === 0;
      if (!fits) throw untileable(s, `[${this.block.join(', ')}]`);
      const t = {
        spec: s,
        rows: k[2] / bi,
        cols: k[3] / bo,
        offset,
        gain: Math.sqrt(specStats(s, gainMode, 0).v / vFirst),
      };
      offset += t.rows * t.cols;
      return t;
    });
    this.numBlocks = offset;
    const F = (this.conditionFeatureSize =
      this.mode === 'input' ? (this.mip ? 2 : 1) * this.conditionSize : this.mode === 'id' ? condEmb : 0);
    this.inputShape = this.mode === 'input' ? [this.conditionSize] : [];
    this.outputShape = [this.numTargetParams];

    const S = kh * kw * bo;
    const specs: ParamSpec[] = [];
    if (this.mode === 'id')
      specs.push(
        paramSpec({
          name: 'embeddings',
          shape: [this.numConditions, condEmb],
          kind: 'embedding',
          layer: 0,
          fanIn: condEmb,
          fanOut: condEmb,
        }),
      );
    specs.push(
      paramSpec({
        name: 'blockEmbeddings',
        shape: [this.numBlocks, Nz],
        kind: 'embedding',
        layer: 0,
        fanIn: Nz,
        fanOut: Nz,
      }),
    );
    specs.push(...denseSpecs('in', Nz + F, bi * d, 1, 'linear'), ...denseSpecs('out', d, S, 2, 'linear'));
    if (this.mip)
      specs.push(
        paramSpec({ name: 'theta0', shape: [this.numTargetParams], kind: 'other', layer: 3, fanIn: 1, fanOut: 1 }),
      );
    this.params = specs;

    // Initial values in ParamSpec order from one stream (same seed → same numbers).
    const rng = config.seed instanceof Rng ? config.seed : new Rng(config.seed ?? 0);
    // E[c²] of the condition features: N(0, 1) embeddings, or the external input's.
    const condM2 = this.mode === 'input' ? (config.inputSecondMoment ?? (this.mip ? 0.5 : 1)) : 1;
    const inVar = 1 / (Nz + F * condM2);
    // Host copies of what is drawn before out.weight: its init statistic is computed on them.
    const drawn: Record<string, Float32Array> = {};
    const keep = (s: ParamSpec, a: Float32Array) => {
      drawn[s.name] = a;
      return tf.tensor(a, [...s.shape], 'float32');
    };
    for (const s of specs) {
      const t = tf.tidy(() => {
        if (init === 'default' && (s.name === 'in.weight' || s.name === 'out.weight')) return initTensor(s, rng);
        if (s.name === 'in.weight') return keep(s, rng.normalArray([...s.shape], 0, Math.sqrt(inVar)));
        if (s.name === 'out.weight') {
          const stats = { mean: new Float32Array(S), variance: new Float32Array(S).fill(vFirst) };
          const { std } = hyperfanColumns(
            stats,
            d,
            this.initSecondMoment(drawn, inVar * F * condM2),
            this.mip ? (config.mipOutputScale ?? 0.1) : 1,
          );
          return tf.mul(rng.normal([d, S]), tf.tensor1d(std));
        }
        if (s.name === 'theta0') return flattenWeights(targetParams, initWeights(targetParams, rng));
        return keep(s, initArray(s, rng)); // embeddings N(0, 1), biases 0 (the target weights' mean)
      });
      this.vars[s.name] = tf.variable(t, true);
      t.dispose();
    }
  }

  /**
   * E[a²] of the first layer at init, over the inputs known now: every block embedding with
   * (up to 64 of) the condition embeddings; an external input contributes `inputPart`
   * (Var(W_i)·F·E[c²], its expectation over W_i) and is zero here.
   */
  private initSecondMoment(drawn: Record<string, Float32Array>, inputPart: number): number {
    const n = this.mode === 'id' ? Math.min(this.numConditions, 64) : 1;
    const F = this.conditionFeatureSize;
    const Nz = this.embeddingSize;
    const K = this.numBlocks;
    const z = drawn.blockEmbeddings!;
    // Rows (i, b) = [z_b ; c_i], c_i the first F entries of condition i's embedding (zeros for an external input).
    const width = Nz + F;
    const x = new Float32Array(n * K * width);
    for (let i = 0; i < n; i++)
      for (let b = 0; b < K; b++) {
        const row = (i * K + b) * width;
        x.set(z.subarray(b * Nz, (b + 1) * Nz), row);
        if (this.mode === 'id') x.set(drawn.embeddings!.subarray(i * F, (i + 1) * F), row + Nz);
      }
    const a = hostDense(x, n * K, drawn['in.weight']!, drawn['in.bias'], 'linear');
    return meanSquare(a) + (this.mode === 'input' ? inputPart : 0);
  }

  /** a for every block: z [N, blocks, Nz] (+ condition features [N, F]) → [N, blocks·blockIn, d]. */
  private firstLayer(z: tf.Tensor, feats: tf.Tensor | null, w: Weights): tf.Tensor {
    const [n, K] = z.shape;
    const x =
      feats === null ? z : tf.concat([z, tf.broadcastTo(tf.reshape(feats, [n!, 1, -1]), [n!, K!, feats.shape[1]!])], 2);
    return tf.reshape(linear(x, w['in.weight']!, w['in.bias']), [n!, K! * this.block[2], this.hiddenSize]);
  }

  /**
   * Condition inputs → flat target parameters [N, P]: int ids [N] (id mode), inputs
   * [N, conditionSize] (input mode), anything with leading dim N (unconditional). `weights`
   * are this net's own (`ownWeights()`) or generated ones, shared or per-sample [N, ...].
   */
  forward(x: tf.Tensor, weights: Weights, _options: ForwardOptions = {}): tf.Tensor {
    const batch = checkWeights(this.params, weights, this.name);
    const n = checkConditionBatch(x, batch, this, this.name);
    return tf.tidy(() => {
      const [kh, kw, bi, bo] = this.block;
      const K = this.numBlocks;
      const table = weights.blockEmbeddings!;
      const z =
        batch === null
          ? tf.broadcastTo(tf.reshape(table, [1, K, this.embeddingSize]), [n, K, this.embeddingSize])
          : table;
      const feats = this.mode === 'none' ? null : conditionFeatures(x, weights, batch, this).feats;
      const k = linear(this.firstLayer(z, feats, weights), weights['out.weight']!, weights['out.bias']); // [N, K·bi, S]
      // Block (r, c) of a tensor: [bi, kh·kw, bo] → channels r·bi…, c·bo… of [kh·kw, Nin, Nout].
      const s = kh * kw;
      const blocks = tf.reshape(k, [n, K, bi, s, bo]);
      const parts =
        this.tiling.length === 1
          ? [blocks]
          : tf.split(
              blocks,
              this.tiling.map((t) => t.rows * t.cols),
              1,
            );
      const flats = this.tiling.map((t, i) => {
        const grid = tf.reshape(parts[i]!, [n, t.rows, t.cols, bi, s, bo]);
        const kernel = tf.reshape(tf.transpose(grid, [0, 4, 1, 3, 2, 5]), [n, -1]);
        return t.gain === 1 ? kernel : tf.mul(kernel, t.gain);
      });
      const flat = flats.length === 1 ? flats[0]! : tf.concat(flats, 1);
      return this.mip ? tf.add(flat, weights.theta0!) : flat; // [P] broadcasts; per-sample [N, P] adds row-wise
    });
  }

  splitTarget(flat: tf.Tensor): Weights {
    return splitFlat(this.targetParams, flat, this.name);
  }

  generate(condition?: Condition): Weights {
    return generateFrom(this, this.vars, condition);
  }
}
