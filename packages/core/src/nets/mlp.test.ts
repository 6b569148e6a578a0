import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { countParams } from '../params.js';
import { Rng } from '../random.js';
import { createVariables, initWeights } from '../init.js';
import { assertNoLeaks } from '../memory.js';
import { MLP } from './mlp.js';
import { accuracy, softmaxCrossEntropy } from '../ops/losses.js';
import {
  comparePerSampleWithLoop,
  disposeWeights,
  finiteDifferenceError,
  maxAbsDiff,
  randomWeightBatch,
  useCpu,
} from '../testing/nets.js';

describe('MLP', () => {
  beforeAll(useCpu);

  it('lists ParamSpecs fc1 … fcL with shapes, fans, layers and activations', () => {
    const net = new MLP({ inputSize: 4, hiddenSizes: [8, 6], outputSize: 3, activation: 'tanh' });
    expect(net.params.map((p) => `${p.name}:${p.shape.join('x')}`)).toEqual([
      'fc1.weight:4x8',
      'fc1.bias:8',
      'fc2.weight:8x6',
      'fc2.bias:6',
      'fc3.weight:6x3',
      'fc3.bias:3',
    ]);
    // 4·8+8 + 8·6+6 + 6·3+3
    expect(countParams(net.params)).toBe(115);
    expect(net.params[2]).toMatchObject({ kind: 'weight', layer: 1, fanIn: 8, fanOut: 6, activation: 'tanh' });
    expect(net.params[4]).toMatchObject({ layer: 2, activation: 'linear' });
    expect(net.params[5]).toMatchObject({ kind: 'bias', layer: 2 });
    expect(new MLP({ inputSize: 4, hiddenSizes: [], outputSize: 2, bias: false }).params.map((p) => p.name)).toEqual([
      'fc1.weight',
    ]);
    expect(net.inputShape).toEqual([4]);
    expect(net.outputShape).toEqual([3]);
  });

  it('rejects bad configs with the field named', () => {
    expect(() => new MLP({ inputSize: 0, hiddenSizes: [], outputSize: 2 })).toThrow(/inputSize/);
    expect(() => new MLP({ inputSize: 2, hiddenSizes: [3, -1], outputSize: 2 })).toThrow(/hiddenSizes\[1\]/);
    expect(() => new MLP({ inputSize: 2, hiddenSizes: [], outputSize: 2, activation: 'swishy' as never })).toThrow(
      ConfigError,
    );
    expect(() => new MLP({ inputSize: 2, hiddenSizes: [], outputSize: 2, dropout: 1 })).toThrow(/dropout/);
  });

  it('runs shared weights, flattens inputs and checks shapes', () => {
    const net = new MLP({ inputSize: 6, hiddenSizes: [5], outputSize: 2 });
    const w = initWeights(net.params, new Rng(0));
    const x = tf.randomNormal([3, 2, 3]);
    const y = net.forward(x, w);
    expect(y.shape).toEqual([3, 2]);
    expect(maxAbsDiff(y, net.forward(tf.reshape(x, [3, 6]), w))).toBe(0);
    expect(() => net.forward(tf.zeros([3, 5]), w)).toThrow(ShapeMismatchError);
    expect(() => net.forward(x, { ...w, 'fc1.weight': tf.zeros([6, 4]) })).toThrow(/fc1.weight/);
    const { 'fc2.bias': _, ...missing } = w;
    expect(() => net.forward(x, missing)).toThrow(/fc2.bias/);
    tf.dispose([x, y]);
    disposeWeights(w);
  });

  it('per-sample weights equal the one-at-a-time loop (forward and gradients)', async ({ annotate }) => {
    const net = new MLP({ inputSize: 5, hiddenSizes: [7, 6], outputSize: 3, activation: 'gelu' });
    const B = 4;
    const w = randomWeightBatch(net.params, B, 1);
    const x = tf.randomNormal([B, 5], 0, 1, 'float32', 2);
    const err = comparePerSampleWithLoop(net.params, (xx, ww) => net.forward(xx, ww), x, w);
    await annotate(
      `MLP per-sample vs loop: forward ${err.forward.toExponential(2)}, grads ${err.grads.toExponential(2)}`,
    );
    expect(err.forward).toBeLessThan(1e-5);
    expect(err.grads).toBeLessThan(1e-5);
    expect(() => net.forward(tf.zeros([B + 1, 5]), w)).toThrow(/per-sample/);
    disposeWeights(w);
    x.dispose();
  });

  it('gradient of a linear layer matches finite differences', () => {
    const net = new MLP({ inputSize: 3, hiddenSizes: [4], outputSize: 2, activation: 'tanh' });
    const w = initWeights(net.params, new Rng(5));
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 6);
    const labels = tf.tensor1d([0, 1, 1, 0, 1], 'int32');
    const f = (w1: tf.Tensor) => softmaxCrossEntropy(net.forward(x, { ...w, 'fc1.weight': w1 }), labels);
    expect(finiteDifferenceError(f, w['fc1.weight'], 8)).toBeLessThan(1e-2);
    tf.dispose([x, labels]);
    disposeWeights(w);
  });

  it('dropout: needs an rng, is off in eval, reproducible with a seed', () => {
    const net = new MLP({ inputSize: 4, hiddenSizes: [64], outputSize: 64, dropout: 0.5 });
    const w = initWeights(net.params, new Rng(0));
    const x = tf.randomNormal([8, 4], 0, 1, 'float32', 1);
    expect(() => net.forward(x, w, { training: true })).toThrow(/options.rng/);
    const evalOut = net.forward(x, w);
    expect(maxAbsDiff(evalOut, net.forward(x, w, { training: false }))).toBe(0);
    const a = net.forward(x, w, { training: true, rng: new Rng(3) });
    const b = net.forward(x, w, { training: true, rng: new Rng(3) });
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(maxAbsDiff(a, evalOut)).toBeGreaterThan(1e-3);
    tf.dispose([x, evalOut, a, b]);
    disposeWeights(w);
  });

  it('same seed, same initial weights (createVariables)', () => {
    const net = new MLP({ inputSize: 4, hiddenSizes: [8], outputSize: 3 });
    // Distinct prefixes: createVariables names variables from the rng stream, so the same seed
    // twice in one process would register the same variable name.
    const a = createVariables(net.params, new Rng(42), 'auto', 'a/');
    const b = createVariables(net.params, new Rng(42), 'auto', 'b/');
    const c = createVariables(net.params, new Rng(43), 'auto', 'c/');
    for (const p of net.params) expect(maxAbsDiff(a[p.name], b[p.name])).toBe(0);
    expect(maxAbsDiff(a['fc1.weight'], c['fc1.weight'])).toBeGreaterThan(0);
    disposeWeights(a, b, c);
  });

  it('trains directly with its own variables (adam) to ≥ 95% on three separable blobs, without leaks', async ({
    annotate,
  }) => {
    const rng = new Rng(7);
    const n = 300;
    const centers = [
      [2, 0],
      [-1, 1.7],
      [-1, -1.7],
    ];
    const labelsArr = Array.from({ length: n }, (_, i) => i % 3);
    const x = tf.tidy(() => tf.add(rng.normal([n, 2], 0, 0.5), tf.tensor2d(labelsArr.map((l) => centers[l]))));
    const labels = tf.tensor1d(labelsArr, 'int32');
    const net = new MLP({ inputSize: 2, hiddenSizes: [16], outputSize: 3, dropout: 0.1 });
    const vars = createVariables(net.params, new Rng(1));
    const opt = tf.train.adam(0.03);
    const step = () =>
      opt.minimize(
        () => softmaxCrossEntropy(net.forward(x, vars, { training: true, rng }), labels),
        true,
        Object.values(vars),
      );
    await assertNoLeaks(step, { steps: 3, label: 'MLP training step' });
    for (let i = 0; i < 100; i++) step()?.dispose();
    const logits = net.forward(x, vars);
    const acc = await accuracy(logits, labels);
    await annotate(`MLP smoke test: accuracy ${acc.toFixed(3)} after 104 adam steps`);
    expect(acc).toBeGreaterThanOrEqual(0.95);
    tf.dispose([x, labels, logits]);
    disposeWeights(vars);
    opt.dispose();
  });
});
