import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors.js';
import { checkWeights, paramSpec, type ParamSpec, type Weights } from '../params.js';
import { activate, linear, type Activation } from '../ops.js';
import type { ForwardOptions, TargetNet } from '../target.js';

export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'elu', 'gelu', 'leaky-relu', 'linear', 'silu'];

export interface MLPConfig {
  inputSize: number;
  hiddenSizes: readonly number[];
  outputSize: number;
  /** After every hidden layer. Default 'relu'. */
  activation?: Activation;
  /** Inverted dropout after every hidden activation, in training mode. Default 0. */
  dropout?: number;
  /** After the output layer. Default 'linear' (logits). */
  outputActivation?: Activation;
  /** Dense layers carry biases. Default true. */
  bias?: boolean;
}

export function checkPositiveInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new ConfigError(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

export function checkActivation(field: string, v: unknown): Activation {
  if (typeof v !== 'string' || !(ACTIVATIONS as readonly string[]).includes(v))
    throw new ConfigError(field, `unknown activation ${JSON.stringify(v)}; use one of ${ACTIVATIONS.join(', ')}`);
  return v as Activation;
}

export function checkDropout(field: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new ConfigError(field, `must be in [0, 1), got ${JSON.stringify(v)}`);
  return v;
}

/** ParamSpecs of a dense layer: `${name}.weight` [in, out] and (optionally) `${name}.bias` [out]. */
export function denseSpecs(
  name: string,
  inSize: number,
  outSize: number,
  layer: number,
  activation: string,
  bias = true,
): ParamSpec[] {
  const out = [
    paramSpec({ name: `${name}.weight`, shape: [inSize, outSize], kind: 'weight', layer, fanIn: inSize, fanOut: outSize, activation }),
  ];
  if (bias)
    out.push(paramSpec({ name: `${name}.bias`, shape: [outSize], kind: 'bias', layer, fanIn: inSize, fanOut: outSize, activation }));
  return out;
}

/** Inverted dropout; needs options.rng when it is active. */
export function dropout(x: tf.Tensor, rate: number, options: ForwardOptions, owner: string): tf.Tensor {
  if (!options.training || rate === 0) return x;
  if (!options.rng)
    throw new ConfigError('options.rng', `${owner} has dropout ${rate} and runs in training mode: pass options.rng (new Rng(seed)) for the masks`);
  return tf.mul(x, options.rng.dropoutMask([...x.shape], rate));
}

/** Leading batch size of x, checked against the per-sample weight batch. */
export function checkBatch(x: tf.Tensor, batch: number | null, owner: string): void {
  if (batch !== null && x.shape[0] !== batch)
    throw new ShapeMismatchError(
      `input of ${owner} (per-sample weights)`,
      [batch, ...x.shape.slice(1)],
      x.shape,
      `the weights carry a batch of ${batch} weight sets: x needs one sample per weight set`,
    );
}

/**
 * Fully connected network. Layers are named fc1 … fcL (fcL is the output layer), PyTorch-style:
 * `fc1.weight` [inputSize, h1], `fc1.bias` [h1], …. Inputs [N, inputSize] (or [N, ...] with
 * inputSize values per sample, flattened).
 */
export class MLP implements TargetNet {
  readonly name = 'mlp';
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly config: Readonly<Required<MLPConfig>>;
  /** Layer widths including input and output. */
  readonly sizes: readonly number[];

  constructor(config: MLPConfig) {
    const inputSize = checkPositiveInt('inputSize', config.inputSize);
    const outputSize = checkPositiveInt('outputSize', config.outputSize);
    if (!Array.isArray(config.hiddenSizes)) throw new ConfigError('hiddenSizes', 'must be an array of positive integers (may be empty)');
    const hidden = config.hiddenSizes.map((h, i) => checkPositiveInt(`hiddenSizes[${i}]`, h));
    const activation = checkActivation('activation', config.activation ?? 'relu');
    const outputActivation = checkActivation('outputActivation', config.outputActivation ?? 'linear');
    const drop = checkDropout('dropout', config.dropout ?? 0);
    const bias = config.bias ?? true;
    if (typeof bias !== 'boolean') throw new ConfigError('bias', `must be a boolean, got ${JSON.stringify(bias)}`);
    this.config = Object.freeze({ inputSize, hiddenSizes: hidden, outputSize, activation, outputActivation, dropout: drop, bias });
    this.sizes = [inputSize, ...hidden, outputSize];
    const specs: ParamSpec[] = [];
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      const last = l + 2 === this.sizes.length;
      specs.push(...denseSpecs(`fc${l + 1}`, this.sizes[l], this.sizes[l + 1], l, last ? outputActivation : activation, bias));
    }
    this.params = specs;
    this.inputShape = [inputSize];
    this.outputShape = [outputSize];
  }

  forward(x: tf.Tensor, weights: Weights, options: ForwardOptions = {}): tf.Tensor {
    const batch = checkWeights(this.params, weights, 'MLP');
    const { inputSize, activation, outputActivation, dropout: rate, bias } = this.config;
    const per = x.rank >= 1 ? x.size / (x.shape[0] || 1) : 0;
    if (x.rank < 2 || per !== inputSize)
      throw new ShapeMismatchError('MLP input', [x.shape[0] ?? -1, inputSize], x.shape, `pass [N, ${inputSize}]`);
    checkBatch(x, batch, 'MLP');
    if (options.training && rate > 0 && !options.rng)
      throw new ConfigError('options.rng', `MLP has dropout ${rate} and runs in training mode: pass options.rng (new Rng(seed)) for the masks`);
    return tf.tidy(() => {
      let h = x.rank === 2 ? x : tf.reshape(x, [x.shape[0], inputSize]);
      const layers = this.sizes.length - 1;
      for (let l = 1; l <= layers; l++) {
        h = linear(h, weights[`fc${l}.weight`], bias ? weights[`fc${l}.bias`] : undefined);
        if (l < layers) {
          h = activate(h, activation);
          h = dropout(h, rate, options, 'MLP');
        } else h = activate(h, outputActivation);
      }
      return h;
    });
  }
}
