import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeMismatchError } from '../errors/index.js';
import { accuracy, countCorrect, mse, softmaxCrossEntropy } from './losses.js';
import { finiteDifferenceError, useCpu } from '../testing/nets.js';

describe('losses', () => {
  beforeAll(useCpu);

  it('softmax cross-entropy by hand, with int, array and one-hot labels', () => {
    const logits = tf.tensor2d([
      [1, 2, 3],
      [0, 0, 0],
    ]);
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    const want = (lse - 3 + Math.log(3)) / 2;
    expect(softmaxCrossEntropy(logits, tf.tensor1d([2, 1], 'int32')).dataSync()[0]).toBeCloseTo(want, 5);
    expect(softmaxCrossEntropy(logits, [2, 1]).dataSync()[0]).toBeCloseTo(want, 5);
    expect(
      softmaxCrossEntropy(
        logits,
        tf.tensor2d([
          [0, 0, 1],
          [0, 1, 0],
        ]),
      ).dataSync()[0],
    ).toBeCloseTo(want, 5);
    logits.dispose();
  });

  it('is stable for huge logits and has the softmax − onehot gradient', () => {
    const big = tf.tensor2d([[1000, 0, -1000]]);
    const l = softmaxCrossEntropy(big, [0]).dataSync()[0];
    expect(Number.isFinite(l)).toBe(true);
    expect(l).toBeCloseTo(0, 5);
    expect(softmaxCrossEntropy(big, [1]).dataSync()[0]).toBeCloseTo(1000, 2);
    const logits = tf.randomNormal([4, 5], 0, 1, 'float32', 1);
    const labels = [0, 3, 4, 1];
    const g = tf.grad((z: tf.Tensor) => softmaxCrossEntropy(z, labels))(logits);
    const want = tf.div(tf.sub(tf.softmax(logits), tf.oneHot(tf.tensor1d(labels, 'int32'), 5)), 4);
    expect(tf.max(tf.abs(tf.sub(g, want))).dataSync()[0]).toBeLessThan(1e-6);
    expect(finiteDifferenceError((z) => softmaxCrossEntropy(z, labels), logits, 6)).toBeLessThan(1e-2);
    tf.dispose([big, logits, g, want]);
  });

  it('rejects labels out of range or of the wrong shape', () => {
    const logits = tf.zeros([2, 3]);
    expect(() => softmaxCrossEntropy(logits, [0, 3])).toThrow(ShapeMismatchError);
    expect(() => softmaxCrossEntropy(logits, [0, 1, 2])).toThrow(/labels/);
    expect(() => softmaxCrossEntropy(logits, tf.zeros([2, 4]))).toThrow(/labels/);
    logits.dispose();
  });

  it('accuracy and countCorrect', async () => {
    const logits = tf.tensor2d([
      [0.1, 0.9],
      [0.8, 0.2],
      [0.3, 0.7],
      [0.6, 0.4],
    ]);
    expect(await accuracy(logits, [1, 0, 0, 0])).toBe(0.75);
    expect(
      await accuracy(
        logits,
        tf.tensor2d([
          [0, 1],
          [1, 0],
          [0, 1],
          [1, 0],
        ]),
      ),
    ).toBe(1);
    expect(countCorrect(logits, tf.tensor1d([0, 0, 0, 0], 'int32')).dataSync()[0]).toBe(2);
    logits.dispose();
  });

  it('mse', () => {
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.tensor1d([1, 0, 0]);
    expect(mse(a, b).dataSync()[0]).toBeCloseTo(13 / 3, 6);
    expect(() => mse(a, tf.zeros([2]))).toThrow(ShapeMismatchError);
    tf.dispose([a, b]);
  });
});
