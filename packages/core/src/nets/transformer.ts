import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { checkWeights, paramSpec, type ParamSpec, type Weights } from '../params.js';
import { activate, affine, layerNormalize, layerNormSpecs, linear, type Activation } from '../ops/index.js';
import { denseSpecs } from './mlp.js';
import type { ForwardOptions, StagedForward, SublayerSite, TargetNet } from '../target.js';
import { replayHostReads } from '../host-reads.js';
import { embeddingLookup } from '../ops/embedding.js';
import { multiHeadAttention } from '../ops/attention.js';
import {
  checkActivation,
  checkBatch,
  checkDropout,
  checkOptionalPositiveInt,
  checkPositiveInt,
  requireRng,
} from './validate.js';

/**
 * Pre-LN Transformer encoder (GPT-2 / ViT block order) with shared or per-sample weights:
 *   x ← x + Drop(Proj(MHSA(LN1(x))));   x ← x + Drop(FC2(GELU(FC1(LN2(x)))))
 * GELU is the tanh approximation ('gelu-tanh', GPT-2's), as it always was here.
 * Attention runs on [N, heads, T, dh] with both BatchMatMul operands carrying the same batch
 * dims (tfjs's BatchMatMul gradient does not reduce broadcast batch dims), so per-sample
 * weights need nothing beyond ops.linear's batched path.
 */

/**
 * How a sequence becomes one vector before the head.
 * - 'mean': mean over positions.
 * - 'cls': a learned `cls_token` [dModel] is prepended (ViT); its final state is used.
 * - 'last': the final state of the last position (with `causal`, it has seen everything).
 * - 'none': no pooling, the output is per position [N, T, ·] (e.g. a causal language model).
 */
export type TransformerPooling = 'mean' | 'cls' | 'last' | 'none';

/**
 * A block's feed-forward sublayer in place of the MLP (e.g. a mixture of experts): its weights
 * are ParamSpecs of the encoder, named under the block's prefix (`blocks.b.mlp`).
 */
export interface FeedForwardSublayer {
  /** The sublayer's ParamSpecs, names starting with `prefix + '.'`, layer indices from `layer` on. */
  specs(prefix: string, dModel: number, layer: number): ParamSpec[];
  /**
   * y [N, T, d] from x = LN2(h) [N, T, d]; `weight(name)` returns the tensor of ParamSpec `name`.
   * It may pause for host reads (see `TargetNet.forwardStaged`); per-sample weights are the
   * sublayer's to accept or refuse.
   */
  forward(
    x: tf.Tensor,
    weight: (name: string) => tf.Tensor,
    prefix: string,
    options: ForwardOptions,
    perSample: boolean,
  ): StagedForward;
}

export interface TransformerEncoderConfig {
  /** Model width d. */
  dModel: number;
  /** Attention heads; must divide dModel. */
  numHeads: number;
  /** Encoder blocks. */
  numBlocks: number;
  /**
   * Maximum sequence length T (sizes the positional embedding and `inputShape`). `forward`
   * accepts any length in [1, seqLength].
   */
  seqLength: number;
  /** Hidden width of each block's MLP. Default 4·dModel. */
  ffSize?: number;
  /**
   * Features per position for float inputs [N, T, inputSize]. Default dModel; when it differs,
   * an `input_proj` dense layer maps it to dModel. Not allowed together with vocabSize.
   */
  inputSize?: number;
  /** Token inputs: ids [N, T] (int32) looked up in `embedding.weight` [vocabSize, dModel]. */
  vocabSize?: number;
  /**
   * Positions: `true` a learned embedding `pos_embedding` [T, dModel] (T + 1 with 'cls');
   * 'sinusoidal' the fixed sin/cos table of Vaswani et al. (no weights); `false` none. Default true.
   */
  positionalEmbedding?: boolean | 'sinusoidal';
  /** Final LayerNorm `norm` after the last block. Default true. */
  finalNorm?: boolean;
  /** Default 'mean'. */
  pooling?: TransformerPooling;
  /** Linear head (logits) on the pooled vector (or on every position with 'none'). Default: none. */
  outputSize?: number;
  /** Position t attends to positions ≤ t only. Default false. */
  causal?: boolean;
  /**
   * Inverted dropout in training mode on the embeddings, the attention probabilities and both
   * residual branches (GPT-2 placement). Default 0.
   */
  dropout?: number;
  /** LayerNorm epsilon. Default 1e-5. */
  normEps?: number;
  /** Activation between the MLP's two layers. Default 'gelu-tanh' (GPT-2's). */
  ffActivation?: Activation;
  /**
   * Replaces block b's MLP (all blocks when one sublayer is given; the blocks where the function
   * returns one otherwise), e.g. with a mixture of experts. Default: the MLP everywhere.
   */
  feedForward?: FeedForwardSublayer | ((block: number) => FeedForwardSublayer | null | undefined);
}

export interface ResolvedTransformerEncoderConfig {
  readonly dModel: number;
  readonly numHeads: number;
  readonly numBlocks: number;
  readonly seqLength: number;
  readonly ffSize: number;
  readonly inputSize: number | null;
  readonly vocabSize: number | null;
  readonly positionalEmbedding: boolean;
  /** Fixed sinusoidal positions added to the input (positionalEmbedding: 'sinusoidal'). */
  readonly sinusoidal: boolean;
  readonly finalNorm: boolean;
  readonly pooling: TransformerPooling;
  readonly outputSize: number | null;
  readonly causal: boolean;
  readonly dropout: number;
  readonly normEps: number;
  readonly ffActivation: Activation;
  /** Block b's replacement of the MLP, or null where the block keeps it. */
  readonly feedForward: readonly (FeedForwardSublayer | null)[];
}

const KEYS = new Set([
  'dModel',
  'numHeads',
  'numBlocks',
  'seqLength',
  'ffSize',
  'inputSize',
  'vocabSize',
  'positionalEmbedding',
  'finalNorm',
  'pooling',
  'outputSize',
  'causal',
  'dropout',
  'normEps',
  'ffActivation',
  'feedForward',
]);

function bool(field: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ConfigError(field, `must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

function resolveConfig(config: TransformerEncoderConfig): ResolvedTransformerEncoderConfig {
  if (config === null || typeof config !== 'object')
    throw new ConfigError('TransformerEncoder', 'the config must be an object');
  for (const k of Object.keys(config))
    if (!KEYS.has(k)) throw new ConfigError(k, `unknown TransformerEncoder option; known: ${[...KEYS].join(', ')}`);
  const dModel = checkPositiveInt('dModel', config.dModel);
  const numHeads = checkPositiveInt('numHeads', config.numHeads);
  if (dModel % numHeads !== 0)
    throw new ConfigError(
      'numHeads',
      `must divide dModel (${dModel}); got ${numHeads}, which leaves a head width of ${dModel / numHeads}`,
    );
  const vocabSize = checkOptionalPositiveInt('vocabSize', config.vocabSize);
  let inputSize = checkOptionalPositiveInt('inputSize', config.inputSize);
  if (vocabSize !== null && inputSize !== null)
    throw new ConfigError(
      'inputSize',
      'token inputs (vocabSize) are embedded to dModel directly: drop inputSize or vocabSize',
    );
  if (vocabSize === null && inputSize === null) inputSize = dModel;
  const pooling = config.pooling ?? 'mean';
  if (!['mean', 'cls', 'last', 'none'].includes(pooling))
    throw new ConfigError('pooling', `must be 'mean', 'cls', 'last' or 'none', got ${JSON.stringify(pooling)}`);
  const causal = bool('causal', config.causal, false);
  if (causal && pooling === 'cls')
    throw new ConfigError(
      'pooling',
      "a prepended CLS token sees only itself under a causal mask: use 'last' or 'mean' with causal",
    );
  const dropout = checkDropout('dropout', config.dropout ?? 0);
  const normEps = config.normEps ?? 1e-5;
  if (typeof normEps !== 'number' || !(normEps > 0))
    throw new ConfigError('normEps', `must be a positive number, got ${JSON.stringify(normEps)}`);
  const positional = config.positionalEmbedding ?? true;
  if (positional !== 'sinusoidal' && typeof positional !== 'boolean')
    throw new ConfigError(
      'positionalEmbedding',
      `must be true (learned), 'sinusoidal' or false, got ${JSON.stringify(positional)}`,
    );
  const ffActivation = checkActivation('ffActivation', config.ffActivation ?? 'gelu-tanh');
  const numBlocks = checkPositiveInt('numBlocks', config.numBlocks);
  const ff = config.feedForward;
  const feedForward = Array.from({ length: numBlocks }, (_, b) => {
    const one = typeof ff === 'function' ? ff(b) : ff;
    if (one === undefined || one === null) return null;
    if (typeof one !== 'object' || typeof one.specs !== 'function' || typeof one.forward !== 'function')
      throw new ConfigError(
        'feedForward',
        `block ${b}'s feed-forward sublayer must be an object with specs() and forward() (a FeedForwardSublayer)`,
      );
    return one;
  });
  return Object.freeze({
    dModel,
    numHeads,
    numBlocks,
    seqLength: checkPositiveInt('seqLength', config.seqLength),
    ffSize: checkPositiveInt('ffSize', config.ffSize ?? 4 * dModel),
    inputSize,
    vocabSize,
    positionalEmbedding: positional === true,
    sinusoidal: positional === 'sinusoidal',
    finalNorm: bool('finalNorm', config.finalNorm, true),
    pooling: pooling as TransformerPooling,
    outputSize: checkOptionalPositiveInt('outputSize', config.outputSize),
    causal,
    dropout,
    normEps,
    ffActivation,
    feedForward: Object.freeze(feedForward),
  });
}

/**
 * Pre-LN Transformer encoder. Params, in order:
 *   `embedding.weight` [vocab, d] (tokens) or `input_proj.weight` [in, d] + `.bias` (features, in ≠ d);
 *   `cls_token` [d] ('cls'); `pos_embedding` [T(+1), d];
 *   per block b: `blocks.b.ln1.{weight,bias}` [d], `blocks.b.attn.qkv.{weight [d, 3d], bias [3d]}`
 *   (columns q | k | v, heads contiguous within each), `blocks.b.attn.proj.{weight [d, d], bias}`,
 *   `blocks.b.ln2.{weight,bias}`, `blocks.b.mlp.fc1.{weight [d, ff], bias}`, `blocks.b.mlp.fc2.{weight [ff, d], bias}`;
 *   `norm.{weight,bias}` (finalNorm); `head.{weight [d, out], bias}` (outputSize).
 * Input: token ids [N, T] or features [N, T, inputSize]; T ≤ seqLength.
 * Output: [N, out] (pooled) or [N, T, out] ('none'); out = outputSize ?? dModel.
 */
export class TransformerEncoder implements TargetNet {
  readonly name = 'transformer-encoder';
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly config: ResolvedTransformerEncoderConfig;
  /** `blocks.b.attn` (after the output projection) and `blocks.b.mlp` (after fc2), before each residual add. */
  readonly sublayers: readonly SublayerSite[];

  constructor(config: TransformerEncoderConfig) {
    const c = resolveConfig(config);
    this.config = c;
    const d = c.dModel;
    const specs: ParamSpec[] = [];
    let layer = 0;
    const dense = (name: string, i: number, o: number, activation = 'linear') =>
      specs.push(...denseSpecs(name, i, o, layer++, activation));
    const norm = (name: string) => specs.push(...layerNormSpecs(name, d, layer++));
    const embedding = (name: string, shape: number[]) => {
      specs.push(
        paramSpec({ name, shape, kind: 'embedding', layer, fanIn: shape.length === 2 ? shape[0] : 1, fanOut: d }),
      );
      layer++;
    };
    if (c.vocabSize !== null) embedding('embedding.weight', [c.vocabSize, d]);
    else if (c.inputSize !== d) dense('input_proj', c.inputSize!, d);
    if (c.pooling === 'cls') embedding('cls_token', [d]);
    if (c.positionalEmbedding) embedding('pos_embedding', [c.seqLength + (c.pooling === 'cls' ? 1 : 0), d]);
    for (let b = 0; b < c.numBlocks; b++) {
      const p = `blocks.${b}`;
      norm(`${p}.ln1`);
      dense(`${p}.attn.qkv`, d, 3 * d);
      dense(`${p}.attn.proj`, d, d);
      norm(`${p}.ln2`);
      const ff = c.feedForward[b];
      if (ff) {
        const own = ff.specs(`${p}.mlp`, d, layer);
        for (const s of own)
          if (!s.name.startsWith(`${p}.mlp.`))
            throw new ConfigError(
              'feedForward',
              `block ${b}'s sublayer named a weight '${s.name}' outside '${p}.mlp.'`,
            );
        specs.push(...own);
        layer = Math.max(layer, ...own.map((s) => s.layer + 1));
      } else {
        dense(`${p}.mlp.fc1`, d, c.ffSize, c.ffActivation);
        dense(`${p}.mlp.fc2`, c.ffSize, d);
      }
    }
    if (c.finalNorm) norm('norm');
    if (c.outputSize !== null) dense('head', d, c.outputSize);
    this.params = specs;
    this.sublayers = Array.from({ length: c.numBlocks }, (_, b) => [
      { name: `blocks.${b}.attn`, width: d },
      { name: `blocks.${b}.mlp`, width: d },
    ]).flat();
    this.inputShape = c.vocabSize !== null ? [c.seqLength] : [c.seqLength, c.inputSize!];
    const width = c.outputSize ?? d;
    this.outputShape = c.pooling === 'none' ? [c.seqLength, width] : [width];
  }

  forward(x: tf.Tensor, weights: Weights, options: ForwardOptions = {}): tf.Tensor {
    return tf.tidy(() =>
      replayHostReads(this.forwardStaged(x, weights, options), options.hostReads, 'TransformerEncoder'),
    );
  }

  /** `forward`, pausing where a feed-forward sublayer reads values back (see `TargetNet.forwardStaged`). */
  *forwardStaged(x: tf.Tensor, weights: Weights, options: ForwardOptions = {}): StagedForward {
    const batch = checkWeights(this.params, weights, 'TransformerEncoder');
    const c = this.config;
    const tokens = c.vocabSize !== null;
    const shape = x.shape as number[];
    const okShape = tokens ? x.rank === 2 : x.rank === 3 && shape[2] === c.inputSize;
    if (!okShape || shape[0] < 1 || shape[1] < 1 || shape[1] > c.seqLength)
      throw new ShapeMismatchError(
        'TransformerEncoder input',
        tokens ? [x.shape[0] ?? -1, c.seqLength] : [x.shape[0] ?? -1, c.seqLength, c.inputSize!],
        x.shape,
        `pass ${tokens ? 'token ids [N, T] (int32)' : `[N, T, ${c.inputSize}]`} with 1 ≤ T ≤ ${c.seqLength}`,
      );
    checkBatch(x, batch, 'TransformerEncoder');
    const dropping = options.training === true && c.dropout > 0;
    const rng = dropping ? requireRng(options, c.dropout, 'TransformerEncoder') : null;
    const drop = (a: tf.Tensor) => (rng ? tf.mul(a, rng.dropoutMask([...a.shape], c.dropout)) : a);
    const w = (name: string) => weights[name];
    const hook = options.sublayerHook;
    const site = (name: string, y: tf.Tensor) => (hook ? hook(name, y) : y);
    const ln = (a: tf.Tensor, name: string) =>
      affine(layerNormalize(a, c.normEps), w(`${name}.weight`), w(`${name}.bias`));

    {
      const n = shape[0];
      const d = c.dModel;
      let h: tf.Tensor; // [N, T, d]
      if (tokens) h = embeddingLookup(x, w('embedding.weight'));
      else if (c.inputSize !== d) h = linear(x, w('input_proj.weight'), w('input_proj.bias'));
      else h = x;
      if (c.pooling === 'cls') {
        const cls = w('cls_token');
        // broadcastTo (summing gradient) for shared; per-sample is already one row per sample.
        const rows =
          cls.rank === 1 ? tf.broadcastTo(tf.reshape(cls, [1, 1, d]), [n, 1, d]) : tf.reshape(cls, [n, 1, d]);
        h = tf.concat([rows, h], 1);
      }
      const t = (h.shape as number[])[1];
      if (c.sinusoidal) h = tf.add(h, sinusoidalPositions(t, d));
      if (c.positionalEmbedding) {
        const pos = w('pos_embedding');
        const maxT = (pos.shape as number[])[pos.rank - 2];
        const used =
          t === maxT ? pos : pos.rank === 2 ? tf.slice(pos, [0, 0], [t, d]) : tf.slice(pos, [0, 0, 0], [n, t, d]);
        h = tf.add(h, used); // [T, d] broadcasts over N; per-sample [N, T, d] adds row-wise
      }
      h = drop(h);
      for (let b = 0; b < c.numBlocks; b++) {
        const p = `blocks.${b}`;
        const qkv = linear(ln(h, `${p}.ln1`), w(`${p}.attn.qkv.weight`), w(`${p}.attn.qkv.bias`));
        const [q, k, v] = tf.split(qkv, 3, -1);
        const att = multiHeadAttention(q, k, v, c.numHeads, {
          causal: c.causal,
          dropProbs: dropping ? drop : undefined,
        });
        h = tf.add(h, drop(site(`${p}.attn`, linear(att, w(`${p}.attn.proj.weight`), w(`${p}.attn.proj.bias`)))));
        const ff = c.feedForward[b];
        let f: tf.Tensor;
        if (ff) f = yield* ff.forward(ln(h, `${p}.ln2`), w, `${p}.mlp`, options, batch !== null);
        else {
          const m = activate(
            linear(ln(h, `${p}.ln2`), w(`${p}.mlp.fc1.weight`), w(`${p}.mlp.fc1.bias`)),
            c.ffActivation,
          );
          f = linear(m, w(`${p}.mlp.fc2.weight`), w(`${p}.mlp.fc2.bias`));
        }
        h = tf.add(h, drop(site(`${p}.mlp`, f)));
      }
      if (c.finalNorm) h = ln(h, 'norm');
      let y: tf.Tensor;
      switch (c.pooling) {
        case 'mean':
          y = tf.mean(h, 1);
          break;
        case 'cls':
          y = tf.reshape(tf.slice(h, [0, 0, 0], [n, 1, d]), [n, d]);
          break;
        case 'last':
          y = tf.reshape(tf.slice(h, [0, t - 1, 0], [n, 1, d]), [n, d]);
          break;
        case 'none':
          y = h;
          break;
      }
      if (c.outputSize !== null) y = linear(y, w('head.weight'), w('head.bias'));
      return y;
    }
  }
}

/** Vaswani et al.'s table [T, d]: sin(t / 10000^(2i/d)) in column 2i, cos in column 2i + 1. */
export function sinusoidalPositions(t: number, d: number): tf.Tensor {
  const table = new Float32Array(t * d);
  for (let pos = 0; pos < t; pos++)
    for (let i = 0; i < d; i += 2) {
      const angle = pos / Math.pow(10000, i / d);
      table[pos * d + i] = Math.sin(angle);
      if (i + 1 < d) table[pos * d + i + 1] = Math.cos(angle);
    }
  return tf.tensor2d(table, [t, d]);
}
