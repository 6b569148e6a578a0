import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { checkWeights, type ParamSpec, type Weights } from '../params.js';
import { affine, conv2d, convSpecs, globalAvgPool, groupNormalize, layerNormSpecs, linear } from '../ops/index.js';
import type { ForwardOptions, TargetNet } from '../target.js';
import { denseSpecs } from './mlp.js';
import { checkBatch, checkPositiveInt } from './validate.js';

export interface DomainBedMnistCnnConfig {
  /** Input channels: 1 (RotatedMNIST) or 2 (ColoredMNIST). Default 1. */
  channels?: number;
  /** Classes of a linear classifier `classifier` on the 128 features; none: the features are the output. */
  numClasses?: number;
}

/** The four convolutions: [name, output channels, stride]. */
const CONVS = [
  ['conv1', 64, 1],
  ['conv2', 128, 2],
  ['conv3', 128, 1],
  ['conv4', 128, 1],
] as const;

/**
 * DomainBed's MNIST_CNN featurizer (facebookresearch/DomainBed, networks.py) on 28×28 NHWC
 * images: four 3×3 convolutions (64; 128 stride 2; 128; 128, padding 1), each followed by ReLU
 * then GroupNorm(8 groups, ε 1e-5), then the global average over positions: 128 features.
 * Optionally DomainBed's linear Classifier (`nonlinear_classifier` False) on them.
 * Params: `convN.weight` [3, 3, cin, cout], `convN.bias`, `gnN.weight`, `gnN.bias` (N = 1…4,
 * torch's bn0…bn3), `classifier.weight` [128, classes], `classifier.bias`. Shared or per-sample.
 */
export class DomainBedMnistCnn implements TargetNet {
  readonly name = 'domainbed-mnist-cnn';
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly channels: number;
  readonly numClasses: number | null;
  /** Features before the classifier. */
  static readonly FEATURES = 128;

  constructor(config: DomainBedMnistCnnConfig = {}) {
    for (const k of Object.keys(config))
      if (k !== 'channels' && k !== 'numClasses')
        throw new ConfigError(k, 'unknown DomainBedMnistCnn option; known: channels, numClasses');
    this.channels = checkPositiveInt('channels', config.channels ?? 1);
    this.numClasses = config.numClasses === undefined ? null : checkPositiveInt('numClasses', config.numClasses);
    const specs: ParamSpec[] = [];
    let cin = this.channels;
    CONVS.forEach(([name, cout], i) => {
      specs.push(...convSpecs(name, 3, cin, cout, 2 * i, 'relu'));
      specs.push(...layerNormSpecs(`gn${i + 1}`, cout, 2 * i + 1));
      cin = cout;
    });
    if (this.numClasses !== null) specs.push(...denseSpecs('classifier', 128, this.numClasses, 8, 'linear'));
    this.params = specs;
    this.inputShape = [28, 28, this.channels];
    this.outputShape = [this.numClasses ?? 128];
  }

  forward(x: tf.Tensor, weights: Weights, _options: ForwardOptions = {}): tf.Tensor {
    const batch = checkWeights(this.params, weights, 'DomainBedMnistCnn');
    const shape = x.shape as number[];
    if (x.rank !== 4 || shape[1] !== 28 || shape[2] !== 28 || shape[3] !== this.channels)
      throw new ShapeMismatchError(
        'DomainBedMnistCnn input (NHWC)',
        [shape[0] ?? -1, 28, 28, this.channels],
        x.shape,
        `pass images [N, 28, 28, ${this.channels}]`,
      );
    checkBatch(x, batch, 'DomainBedMnistCnn');
    const w = (n: string) => weights[n]!;
    return tf.tidy(() => {
      let h: tf.Tensor = x;
      CONVS.forEach(([name, , stride], i) => {
        h = tf.relu(conv2d(h, w(`${name}.weight`), w(`${name}.bias`), { stride, padding: 1 }));
        h = affine(groupNormalize(h, 8), w(`gn${i + 1}.weight`), w(`gn${i + 1}.bias`));
      });
      const features = globalAvgPool(h);
      return this.numClasses === null ? features : linear(features, w('classifier.weight'), w('classifier.bias'));
    });
  }
}
