import * as tf from '@tensorflow/tfjs-core';
import { DomainBedMnistCnn, Rng, softmaxCrossEntropy, type ParamSpec } from '@hypernets/core';
import type { DgAlgorithm } from './algorithm.js';

/**
 * PyTorch's default init of a layer's weight and bias (kaiming_uniform with a = √5, and the bias
 * rule): U(−1/√fanIn, 1/√fanIn); GroupNorm γ = 1, β = 0. What DomainBed's networks start from.
 */
export function torchDefaultInit(s: ParamSpec, rng: Rng): tf.Tensor {
  const shape = [...s.shape];
  if (s.kind === 'norm-scale') return tf.ones(shape);
  if (s.kind === 'norm-shift') return tf.zeros(shape);
  const bound = 1 / Math.sqrt(s.fanIn);
  return tf.tensor(rng.uniformArray(shape, -bound, bound), shape);
}

/**
 * ERM (DomainBed's baseline): MNIST_CNN featurizer + linear classifier, the mean cross-entropy
 * over the concatenated minibatches of the training environments.
 * Variables: the ParamSpec names of `DomainBedMnistCnn` (`conv1.weight`, …, `classifier.bias`).
 */
export function createErm(o: { channels: number; numClasses: number; seed?: number }): DgAlgorithm {
  const net = new DomainBedMnistCnn({ channels: o.channels, numClasses: o.numClasses });
  const rng = new Rng(o.seed ?? 0);
  const variables: Record<string, tf.Variable> = {};
  for (const s of net.params) variables[s.name] = tf.tidy(() => tf.variable(torchDefaultInit(s, rng), true));
  const predict = (x: tf.Tensor4D) => net.forward(x, variables) as tf.Tensor2D;
  return {
    name: 'erm',
    variables,
    trainable: Object.keys(variables),
    predict,
    loss: (x, y) =>
      tf.tidy(() => softmaxCrossEntropy(predict(x), tf.oneHot(tf.cast(y, 'int32') as tf.Tensor1D, o.numClasses))),
    dispose: () => tf.dispose(Object.values(variables)),
  };
}
