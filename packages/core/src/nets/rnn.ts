import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { checkWeights, paramSpec, type ParamSpec, type Weights } from '../params.js';
import { linear } from '../ops/index.js';
import { lstmLayer } from '../ops/lstm.js';
import { embeddingLookup } from '../ops/embedding.js';
import type { ForwardOptions, TargetNet } from '../target.js';
import { checkBatch, checkDropout, checkOptionalPositiveInt, checkPositiveInt, requireRng } from './validate.js';

/**
 * Recurrent target networks (Elman RNN and LSTM) with shared or per-sample weights.
 *
 * Layout (tfjs/Keras-style fused gates, PyTorch-style names), for layer l of a `cell`-named
 * stack with G gates (1 for the tanh RNN, 4 for the LSTM, order i, f, g, o):
 *   `${cell}.${l}.weight_ih` [in, G·H]   input → gates
 *   `${cell}.${l}.weight_hh` [H, G·H]    hidden → gates (kind 'recurrent-weight')
 *   `${cell}.${l}.bias`      [G·H]       one bias (Keras), not PyTorch's b_ih + b_hh
 * plus an optional `embedding.weight` [vocab, in] in front and `head.weight`/`head.bias` after.
 * Per-sample weights carry a leading batch dimension; each step's matmuls are then batched
 * ([N, 1, H] × [N, H, G·H]) so sample i runs with weight set i in one pass.
 */

export type RecurrentOutput = 'last' | 'sequence';

export interface RecurrentConfig {
  /** Features per time step; with `vocabSize`, the embedding width. */
  inputSize: number;
  hiddenSize: number;
  /**
   * Sequence length T the net is built for (it sets `inputShape`/`outputShape`). `forward`
   * accepts any length ≥ 1, e.g. shorter prompts for a character-level language model.
   */
  seqLength: number;
  /** Stacked recurrent layers. Default 1. */
  layers?: number;
  /**
   * When set, inputs are token ids [N, T] (int32, in [0, vocabSize)) looked up in an
   * `embedding.weight` [vocabSize, inputSize] table. Ids are not range-checked on the
   * per-sample path (checking would need a device read); the shared path's gather checks them
   * on backends that do.
   */
  vocabSize?: number;
  /**
   * 'last': the hidden state after the last step, [N, outputSize] (default).
   * 'sequence': every step's hidden state, [N, T, outputSize] (the head runs per step).
   */
  output?: RecurrentOutput;
  /** Linear head on the hidden state (logits, no activation). Default: none, output is H wide. */
  outputSize?: number;
  /** Inverted dropout between stacked layers (PyTorch semantics), in training mode. Default 0. */
  dropout?: number;
}

export interface ResolvedRecurrentConfig {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly seqLength: number;
  readonly layers: number;
  readonly vocabSize: number | null;
  readonly output: RecurrentOutput;
  readonly outputSize: number | null;
  readonly dropout: number;
}

type CellType = 'rnn' | 'lstm';

const GATES: Record<CellType, number> = { rnn: 1, lstm: 4 };

const RECURRENT_KEYS = new Set([
  'inputSize',
  'hiddenSize',
  'seqLength',
  'layers',
  'vocabSize',
  'output',
  'outputSize',
  'dropout',
]);

function resolveRecurrentConfig(config: RecurrentConfig, owner: string): ResolvedRecurrentConfig {
  if (config === null || typeof config !== 'object') throw new ConfigError(owner, 'the config must be an object');
  for (const k of Object.keys(config))
    if (!RECURRENT_KEYS.has(k))
      throw new ConfigError(k, `unknown ${owner} option; known: ${[...RECURRENT_KEYS].join(', ')}`);
  const output = config.output ?? 'last';
  if (output !== 'last' && output !== 'sequence')
    throw new ConfigError('output', `must be 'last' or 'sequence', got ${JSON.stringify(output)}`);
  return Object.freeze({
    inputSize: checkPositiveInt('inputSize', config.inputSize),
    hiddenSize: checkPositiveInt('hiddenSize', config.hiddenSize),
    seqLength: checkPositiveInt('seqLength', config.seqLength),
    layers: checkPositiveInt('layers', config.layers ?? 1),
    vocabSize: checkOptionalPositiveInt('vocabSize', config.vocabSize),
    output,
    outputSize: checkOptionalPositiveInt('outputSize', config.outputSize),
    dropout: checkDropout('dropout', config.dropout ?? 0),
  });
}

/** Shared machinery of SimpleRNN and LSTM. */
abstract class RecurrentNet implements TargetNet {
  abstract readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly config: ResolvedRecurrentConfig;

  protected constructor(
    protected readonly cell: CellType,
    config: RecurrentConfig,
    owner: string,
  ) {
    const c = resolveRecurrentConfig(config, owner);
    this.config = c;
    const g = GATES[cell] * c.hiddenSize;
    const specs: ParamSpec[] = [];
    let layer = 0;
    if (c.vocabSize !== null) {
      specs.push(
        paramSpec({
          name: 'embedding.weight',
          shape: [c.vocabSize, c.inputSize],
          kind: 'embedding',
          layer,
          fanIn: c.vocabSize,
          fanOut: c.inputSize,
        }),
      );
      layer++;
    }
    for (let l = 0; l < c.layers; l++, layer++) {
      const inSize = l === 0 ? c.inputSize : c.hiddenSize;
      const common = { layer, fanOut: g, activation: 'tanh' };
      specs.push(
        paramSpec({ name: `${cell}.${l}.weight_ih`, shape: [inSize, g], kind: 'weight', fanIn: inSize, ...common }),
        paramSpec({
          name: `${cell}.${l}.weight_hh`,
          shape: [c.hiddenSize, g],
          kind: 'recurrent-weight',
          fanIn: c.hiddenSize,
          ...common,
        }),
        paramSpec({ name: `${cell}.${l}.bias`, shape: [g], kind: 'bias', fanIn: inSize, ...common }),
      );
    }
    if (c.outputSize !== null) {
      const h = c.hiddenSize;
      const o = c.outputSize;
      specs.push(
        paramSpec({
          name: 'head.weight',
          shape: [h, o],
          kind: 'weight',
          layer,
          fanIn: h,
          fanOut: o,
          activation: 'linear',
        }),
        paramSpec({ name: 'head.bias', shape: [o], kind: 'bias', layer, fanIn: h, fanOut: o, activation: 'linear' }),
      );
    }
    this.params = specs;
    this.inputShape = c.vocabSize !== null ? [c.seqLength] : [c.seqLength, c.inputSize];
    const width = c.outputSize ?? c.hiddenSize;
    this.outputShape = c.output === 'last' ? [width] : [c.seqLength, width];
  }

  forward(x: tf.Tensor, weights: Weights, options: ForwardOptions = {}): tf.Tensor {
    const batch = checkWeights(this.params, weights, this.name);
    const c = this.config;
    const tokens = c.vocabSize !== null;
    const shape = x.shape as number[];
    const okRank = tokens ? x.rank === 2 : x.rank === 3 && shape[2] === c.inputSize;
    if (!okRank || shape[0] < 1 || shape[1] < 1)
      throw new ShapeMismatchError(
        `${this.name} input`,
        tokens ? [x.shape[0] ?? -1, c.seqLength] : [x.shape[0] ?? -1, c.seqLength, c.inputSize],
        x.shape,
        tokens ? 'pass token ids [N, T] (int32)' : `pass [N, T, ${c.inputSize}] (any T ≥ 1)`,
      );
    checkBatch(x, batch, this.name);
    const dropping = options.training === true && c.dropout > 0 && c.layers > 1;
    const rng = dropping ? requireRng(options, c.dropout, this.name) : null;
    return tf.tidy(() => {
      let seq = tokens ? embeddingLookup(x, weights['embedding.weight']) : x; // [N, T, in]
      let last: tf.Tensor | null = null;
      for (let l = 0; l < c.layers; l++) {
        if (l > 0 && rng) seq = tf.mul(seq, rng.dropoutMask([...seq.shape], c.dropout));
        const w = (k: string) => weights[`${this.cell}.${l}.${k}`];
        const hs = this.runLayer(seq, w('weight_ih'), w('weight_hh'), w('bias'));
        last = hs[hs.length - 1];
        // The top layer of a 'last' net never needs the stacked sequence.
        if (l < c.layers - 1 || c.output === 'sequence') seq = tf.stack(hs, 1);
      }
      let y = c.output === 'last' ? last! : seq; // [N, H] or [N, T, H]
      if (c.outputSize !== null) y = linear(y, weights['head.weight'], weights['head.bias']);
      return y;
    });
  }

  /** One layer unrolled over T; returns the hidden state of every step ([N, H] each). */
  private runLayer(seq: tf.Tensor, wIh: tf.Tensor, wHh: tf.Tensor, b: tf.Tensor): tf.Tensor[] {
    if (this.cell === 'lstm') return lstmLayer(seq, wIh, wHh, b);
    // As lstmLayer: all input projections in one matmul, unstacked; h0 = 0 skips the first h·W_hh.
    const steps = tf.unstack(linear(seq, wIh, b), 1);
    const hs: tf.Tensor[] = [];
    let h: tf.Tensor | null = null;
    for (const xw of steps) {
      h = tf.tanh(h === null ? xw : tf.add(xw, linear(h, wHh)));
      hs.push(h);
    }
    return hs;
  }
}

/**
 * Elman RNN, h_t = tanh(x_t·W_ih + h_{t-1}·W_hh + b). Params `rnn.${l}.weight_ih` [in, H],
 * `rnn.${l}.weight_hh` [H, H], `rnn.${l}.bias` [H].
 */
export class SimpleRNN extends RecurrentNet {
  readonly name = 'simple-rnn';
  constructor(config: RecurrentConfig) {
    super('rnn', config, 'SimpleRNN');
  }
}

/**
 * LSTM with fused gates in the order i, f, g, o:
 *   z = x_t·W_ih + h_{t-1}·W_hh + b;  i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh(z_g)
 *   c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)
 * Params `lstm.${l}.weight_ih` [in, 4H], `lstm.${l}.weight_hh` [H, 4H], `lstm.${l}.bias` [4H]
 * (zeros at init, forget gate included).
 */
export class LSTM extends RecurrentNet {
  readonly name = 'lstm';
  constructor(config: RecurrentConfig) {
    super('lstm', config, 'LSTM');
  }
}
