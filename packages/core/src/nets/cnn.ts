import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { checkWeights, type ParamSpec, type Weights } from '../params.js';
import { activate, linear, type Activation } from '../ops/index.js';
import type { ForwardOptions, TargetNet } from '../target.js';
import { conv2d, convGeometry, convSpecs, type Padding, type PerSampleConvMethod } from '../ops/conv.js';
import { pool2d } from '../ops/pool.js';
import { denseSpecs } from './mlp.js';
import { checkActivation, checkBatch, checkDropout, checkPositiveInt, dropout, requireRng } from './validate.js';

export interface ConvLayerConfig {
  filters: number;
  /** Square kernel size. */
  kernel: number;
  /** Default 1. */
  stride?: number;
  /** Default 'valid'. */
  padding?: Padding;
  /** Pooling after the activation. */
  pool?: { type: 'max' | 'avg'; size: number; stride?: number };
}

export interface CNNConfig {
  /** [H, W, C]. */
  inputShape: readonly [number, number, number];
  convs: readonly ConvLayerConfig[];
  /** Hidden dense widths after flattening. Default []. */
  dense?: readonly number[];
  outputSize: number;
  /** After every conv and hidden dense layer. Default 'relu'. */
  activation?: Activation;
  /** Inverted dropout after every hidden dense activation, in training mode. Default 0. */
  dropout?: number;
  /** Per-sample conv method (see ops/conv.ts). Default 'auto'. */
  convMethod?: PerSampleConvMethod;
}

interface ConvPlan {
  name: string;
  cfg: Required<Omit<ConvLayerConfig, 'pool'>> & Pick<ConvLayerConfig, 'pool'>;
  /** Output [H, W, C] after conv (+ pool). */
  out: [number, number, number];
}

/**
 * Convolutional classifier: conv (+ activation, + optional pool) blocks, flatten, dense layers.
 * Params `conv1.weight` [k, k, cin, f], `conv1.bias` [f], …, then `fc1.weight`, … (the last fc is
 * the output layer). Flattening is NHWC order (H, W, C) — not PyTorch's (C, H, W): permute
 * when porting the first dense layer of a PyTorch checkpoint.
 */
export class CNN implements TargetNet {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly config: Readonly<CNNConfig>;
  private readonly plan: ConvPlan[];
  private readonly denseSizes: number[];
  private readonly activation: Activation;
  private readonly dropoutRate: number;

  constructor(config: CNNConfig, name = 'cnn') {
    this.name = name;
    if (!Array.isArray(config.inputShape) || config.inputShape.length !== 3)
      throw new ConfigError('inputShape', `must be [H, W, C], got ${JSON.stringify(config.inputShape)}`);
    const [h0, w0, c0] = config.inputShape.map((d, i) => checkPositiveInt(`inputShape[${i}]`, d));
    if (!Array.isArray(config.convs)) throw new ConfigError('convs', 'must be an array of conv layer configs');
    const activation = checkActivation('activation', config.activation ?? 'relu');
    const outputSize = checkPositiveInt('outputSize', config.outputSize);
    const dense = (config.dense ?? []).map((d, i) => checkPositiveInt(`dense[${i}]`, d));
    this.dropoutRate = checkDropout('dropout', config.dropout ?? 0);
    this.activation = activation;

    const specs: ParamSpec[] = [];
    const plan: ConvPlan[] = [];
    let [h, w, c] = [h0, w0, c0];
    let layer = 0;
    config.convs.forEach((cv, i) => {
      const field = `convs[${i}]`;
      const filters = checkPositiveInt(`${field}.filters`, cv.filters);
      const kernel = checkPositiveInt(`${field}.kernel`, cv.kernel);
      const stride = checkPositiveInt(`${field}.stride`, cv.stride ?? 1);
      const padding = cv.padding ?? 'valid';
      const g = convGeometry(h, w, kernel, stride, padding, field);
      [h, w, c] = [g.outH, g.outW, filters];
      if (cv.pool) {
        const pf = `${field}.pool`;
        if (cv.pool.type !== 'max' && cv.pool.type !== 'avg')
          throw new ConfigError(`${pf}.type`, `must be 'max' or 'avg', got ${JSON.stringify(cv.pool.type)}`);
        const size = checkPositiveInt(`${pf}.size`, cv.pool.size);
        const ps = checkPositiveInt(`${pf}.stride`, cv.pool.stride ?? size);
        const pg = convGeometry(h, w, size, ps, 'valid', pf);
        [h, w] = [pg.outH, pg.outW];
      }
      const name = `conv${i + 1}`;
      specs.push(
        ...convSpecs(name, kernel, plan.length ? plan[plan.length - 1].cfg.filters : c0, filters, layer++, activation),
      );
      plan.push({ name, cfg: { filters, kernel, stride, padding, pool: cv.pool }, out: [h, w, c] });
    });
    const sizes = [h * w * c, ...dense, outputSize];
    for (let l = 0; l + 1 < sizes.length; l++)
      specs.push(
        ...denseSpecs(`fc${l + 1}`, sizes[l], sizes[l + 1], layer++, l + 2 === sizes.length ? 'linear' : activation),
      );
    this.params = specs;
    this.plan = plan;
    this.denseSizes = sizes;
    this.inputShape = [h0, w0, c0];
    this.outputShape = [outputSize];
    this.config = Object.freeze({ ...config });
  }

  /** [H, W, C] after every conv block, for inspection. */
  get featureShapes(): [number, number, number][] {
    return this.plan.map((p) => [...p.out]);
  }

  forward(x: tf.Tensor, weights: Weights, options: ForwardOptions = {}): tf.Tensor {
    const batch = checkWeights(this.params, weights, this.name);
    const [h0, w0, c0] = this.inputShape;
    if (x.rank !== 4 || x.shape[1] !== h0 || x.shape[2] !== w0 || x.shape[3] !== c0)
      throw new ShapeMismatchError(
        `${this.name} input`,
        [x.shape[0] ?? -1, h0, w0, c0],
        x.shape,
        'pass NHWC images [N, H, W, C]',
      );
    checkBatch(x, batch, this.name);
    if (options.training && this.dropoutRate > 0) requireRng(options, this.dropoutRate, this.name);
    return tf.tidy(() => {
      let hcur: tf.Tensor = x;
      for (const p of this.plan) {
        hcur = conv2d(hcur, weights[`${p.name}.weight`], weights[`${p.name}.bias`], {
          stride: p.cfg.stride,
          padding: p.cfg.padding,
          method: this.config.convMethod,
        });
        hcur = activate(hcur, this.activation);
        if (p.cfg.pool)
          hcur = pool2d(hcur, { type: p.cfg.pool.type, size: p.cfg.pool.size, stride: p.cfg.pool.stride });
      }
      hcur = tf.reshape(hcur, [x.shape[0], this.denseSizes[0]]);
      const layers = this.denseSizes.length - 1;
      for (let l = 1; l <= layers; l++) {
        hcur = linear(hcur, weights[`fc${l}.weight`], weights[`fc${l}.bias`]);
        if (l < layers) hcur = dropout(activate(hcur, this.activation), this.dropoutRate, options, this.name);
      }
      return hcur;
    });
  }
}

export interface LeNetOptions {
  outputSize?: number;
  /** Default 'relu' (the 1998 paper: scaled tanh). */
  activation?: Activation;
  /** Default 'max' (the 1998 paper: trainable average subsampling). */
  pool?: 'max' | 'avg';
}

/**
 * LeNet-5-like for 28×28×1 (MNIST): conv 6@5×5 'same' (28×28, standing in for the paper's
 * 32×32 input) → pool 2 → conv 16@5×5 → pool 2 → 400 → 120 → 84 → 10. 61,706 parameters.
 */
export function lenet5(options: LeNetOptions = {}): CNN {
  const pool = { type: options.pool ?? 'max', size: 2 } as const;
  return new CNN(
    {
      inputShape: [28, 28, 1],
      convs: [
        { filters: 6, kernel: 5, padding: 'same', pool },
        { filters: 16, kernel: 5, pool },
      ],
      dense: [120, 84],
      outputSize: options.outputSize ?? 10,
      activation: options.activation ?? 'relu',
    },
    'lenet5',
  );
}

/**
 * The MNIST target of Ha, Dai & Le, "HyperNetworks" (2016, arXiv v1–v3 §4.1 / the author's blog):
 * conv 16@7×7 'same' → max-pool 2 → conv 16@7×7 'same' (the 7×7×16×16 kernel the hypernetwork
 * generates) → max-pool 2 → dense 784 → 10. 21,210 parameters.
 */
export function haMnist(options: { outputSize?: number; activation?: Activation } = {}): CNN {
  const pool = { type: 'max', size: 2 } as const;
  return new CNN(
    {
      inputShape: [28, 28, 1],
      convs: [
        { filters: 16, kernel: 7, padding: 'same', pool },
        { filters: 16, kernel: 7, padding: 'same', pool },
      ],
      outputSize: options.outputSize ?? 10,
      activation: options.activation ?? 'relu',
    },
    'ha-mnist',
  );
}
