import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { checkWeights, paramSpec, type ParamSpec, type Weights } from '../params.js';
import { activate, linear, type Activation } from '../ops/index.js';
import type { ForwardOptions, TargetNet } from '../target.js';
import { checkActivation, checkBatch, checkDropout, checkPositiveInt, dropout, requireRng } from './validate.js';

// Defined with the other config checks in validate.ts; public (nets/index.ts) from here.
export { ACTIVATIONS } from './validate.js';

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
    paramSpec({
      name: `${name}.weight`,
      shape: [inSize, outSize],
      kind: 'weight',
      layer,
      fanIn: inSize,
      fanOut: outSize,
      activation,
    }),
  ];
  if (bias)
    out.push(
      paramSpec({
        name: `${name}.bias`,
        shape: [outSize],
        kind: 'bias',
        layer,
        fanIn: inSize,
        fanOut: outSize,
        activation,
      }),
    );
  return out;
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
    if (!Array.isArray(config.hiddenSizes))
      throw new ConfigError('hiddenSizes', 'must be an array of positive integers (may be empty)');
    const hidden = config.hiddenSizes.map((h, i) => checkPositiveInt(`hiddenSizes[${i}]`, h));
    const activation = checkActivation('activation', config.activation ?? 'relu');
    const outputActivation = checkActivation('outputActivation', config.outputActivation ?? 'linear');
    const drop = checkDropout('dropout', config.dropout ?? 0);
    const bias = config.bias ?? true;
    if (typeof bias !== 'boolean') throw new ConfigError('bias', `must be a boolean, got ${JSON.stringify(bias)}`);
    this.config = Object.freeze({
      inputSize,
      hiddenSizes: hidden,
      outputSize,
      activation,
      outputActivation,
      dropout: drop,
      bias,
    });
    this.sizes = [inputSize, ...hidden, outputSize];
    const specs: ParamSpec[] = [];
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      const last = l + 2 === this.sizes.length;
      specs.push(
        ...denseSpecs(`fc${l + 1}`, this.sizes[l], this.sizes[l + 1], l, last ? outputActivation : activation, bias),
      );
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
    if (options.training && rate > 0) requireRng(options, rate, 'MLP');
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
