import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { linear, linearTorch } from './linear.js';
import { maxAbsDiff, useCpu } from '../testing/nets.js';
import { ShapeMismatchError } from '../errors/index.js';

beforeAll(useCpu);

describe('linearTorch (PyTorch layout [out, in])', () => {
  it('equals linear with the transposed weight: shared (rank 2 and 3 inputs) and per-sample', () => {
    const x3 = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 1);
    const w = tf.randomNormal([6, 5], 0, 1, 'float32', 2);
    const b = tf.randomNormal([6], 0, 1, 'float32', 3);
    expect(maxAbsDiff(linearTorch(x3, w, b), linear(x3, tf.transpose(w), b))).toBeLessThan(1e-6);
    const x2 = tf.reshape(x3, [12, 5]);
    expect(maxAbsDiff(linearTorch(x2, w), linear(x2, tf.transpose(w)))).toBeLessThan(1e-6);
    const wn = tf.randomNormal([3, 6, 5], 0, 1, 'float32', 4);
    const bn = tf.randomNormal([3, 6], 0, 1, 'float32', 5);
    expect(linearTorch(x3, wn, bn).shape).toEqual([3, 4, 6]);
    expect(maxAbsDiff(linearTorch(x3, wn, bn), linear(x3, tf.transpose(wn, [0, 2, 1]), bn))).toBeLessThan(1e-6);
    expect(() => linearTorch(x3, tf.zeros([5, 6]))).toThrow(ShapeMismatchError);
    expect(() => linearTorch(x3, tf.zeros([2, 6, 5]))).toThrow(ShapeMismatchError);
  });
});
