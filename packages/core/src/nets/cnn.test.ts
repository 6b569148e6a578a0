import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { countParams } from '../params.js';
import { Rng } from '../random.js';
import { createVariables, initWeights } from '../init.js';
import { assertNoLeaks } from '../memory.js';
import { CNN, haMnist, lenet5 } from './cnn.js';
import { softmaxCrossEntropy } from '../ops/losses.js';
import {
  comparePerSampleWithLoop,
  disposeWeights,
  finiteDifferenceError,
  maxAbsDiff,
  randomWeightBatch,
  useCpu,
} from '../testing/nets.js';

const small = () =>
  new CNN({
    inputShape: [8, 8, 2],
    convs: [
      { filters: 3, kernel: 3, padding: 'same', pool: { type: 'max', size: 2 } },
      { filters: 4, kernel: 3, stride: 2, padding: 1, pool: { type: 'avg', size: 2 } },
    ],
    dense: [5],
    outputSize: 3,
    activation: 'tanh',
  });

describe('CNN', () => {
  beforeAll(useCpu);

  it('LeNet-5 preset: 61,706 parameters, feature shapes, output shape', () => {
    const net = lenet5();
    // conv1 5·5·1·6+6 = 156, conv2 5·5·6·16+16 = 2,416, fc1 400·120+120 = 48,120,
    // fc2 120·84+84 = 10,164, fc3 84·10+10 = 850
    expect(countParams(net.params)).toBe(61706);
    expect(net.params.map((p) => p.name)).toEqual([
      'conv1.weight',
      'conv1.bias',
      'conv2.weight',
      'conv2.bias',
      'fc1.weight',
      'fc1.bias',
      'fc2.weight',
      'fc2.bias',
      'fc3.weight',
      'fc3.bias',
    ]);
    expect(net.params[2]).toMatchObject({
      shape: [5, 5, 6, 16],
      fanIn: 150,
      fanOut: 400,
      layer: 1,
      activation: 'relu',
    });
    expect(net.params[4]).toMatchObject({ shape: [400, 120], layer: 2 });
    expect(net.params[8]).toMatchObject({ layer: 4, activation: 'linear' });
    expect(net.featureShapes).toEqual([
      [14, 14, 6],
      [5, 5, 16],
    ]);
    const w = initWeights(net.params, new Rng(0));
    const x = tf.randomNormal([2, 28, 28, 1]);
    const y = net.forward(x, w);
    expect(y.shape).toEqual([2, 10]);
    expect(() => net.forward(tf.zeros([2, 32, 32, 1]), w)).toThrow(ShapeMismatchError);
    tf.dispose([x, y]);
    disposeWeights(w);
  });

  it('Ha et al. MNIST preset: 21,210 parameters with the 7×7×16×16 second kernel', () => {
    const net = haMnist();
    // 7·7·1·16+16 = 800, 7·7·16·16+16 = 12,560, 784·10+10 = 7,850
    expect(countParams(net.params)).toBe(21210);
    expect(net.params.find((p) => p.name === 'conv2.weight')?.shape).toEqual([7, 7, 16, 16]);
    expect(net.featureShapes).toEqual([
      [14, 14, 16],
      [7, 7, 16],
    ]);
  });

  it('rejects bad configs with the field named', () => {
    expect(() => new CNN({ inputShape: [8, 8], convs: [], outputSize: 2 } as never)).toThrow(/inputShape/);
    expect(() => new CNN({ inputShape: [8, 8, 1], convs: [{ filters: 2, kernel: 9 }], outputSize: 2 })).toThrow(
      /convs\[0\]/,
    );
    expect(() => new CNN({ inputShape: [8, 8, 1], convs: [{ filters: 0, kernel: 3 }], outputSize: 2 })).toThrow(
      /convs\[0\].filters/,
    );
    expect(
      () =>
        new CNN({
          inputShape: [4, 4, 1],
          convs: [{ filters: 2, kernel: 3, pool: { type: 'max', size: 3 } }],
          outputSize: 2,
        }),
    ).toThrow(/convs\[0\].pool/);
    expect(() => new CNN({ inputShape: [4, 4, 1], convs: [], outputSize: 2, dropout: 2 })).toThrow(ConfigError);
  });

  it('per-sample weights equal the one-at-a-time loop (forward and gradients), small net and LeNet-5', async ({
    annotate,
  }) => {
    for (const [net, shape] of [
      [small(), [3, 8, 8, 2]],
      [lenet5(), [2, 28, 28, 1]],
    ] as const) {
      const w = randomWeightBatch(net.params, shape[0], 1);
      const x = tf.randomNormal([...shape], 0, 1, 'float32', 2);
      const err = comparePerSampleWithLoop(net.params, (xx, ww) => net.forward(xx, ww), x, w);
      await annotate(
        `${net.name} per-sample vs loop: forward ${err.forward.toExponential(2)}, grads ${err.grads.toExponential(2)}`,
      );
      expect(err.forward).toBeLessThan(1e-5);
      expect(err.grads).toBeLessThan(1e-5);
      disposeWeights(w);
      x.dispose();
    }
  });

  it('gradient of a conv layer matches finite differences', () => {
    const net = small();
    const w = initWeights(net.params, new Rng(3));
    const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 4);
    const labels = [0, 2];
    const f = (k: tf.Tensor) => softmaxCrossEntropy(net.forward(x, { ...w, 'conv2.weight': k }), labels);
    expect(finiteDifferenceError(f, w['conv2.weight'], 8)).toBeLessThan(1e-2);
    x.dispose();
    disposeWeights(w);
  });

  it('same seed, same weights; trains without leaking tensors', async () => {
    const net = small();
    const a = createVariables(net.params, new Rng(9), 'auto', 'cnn-a/');
    const b = createVariables(net.params, new Rng(9), 'auto', 'cnn-b/');
    for (const p of net.params) expect(maxAbsDiff(a[p.name], b[p.name])).toBe(0);
    const x = tf.randomNormal([4, 8, 8, 2]);
    const labels = tf.tensor1d([0, 1, 2, 1], 'int32');
    const opt = tf.train.adam(0.01);
    const step = () =>
      opt.minimize(() => softmaxCrossEntropy(net.forward(x, a, { training: true }), labels), true, Object.values(a));
    const before = softmaxCrossEntropy(net.forward(x, a), labels).dataSync()[0];
    await assertNoLeaks(step, { label: 'CNN training step' });
    for (let i = 0; i < 20; i++) step()?.dispose();
    const after = softmaxCrossEntropy(net.forward(x, a), labels).dataSync()[0];
    expect(after).toBeLessThan(before);
    tf.dispose([x, labels]);
    disposeWeights(a, b);
    opt.dispose();
  });
});
