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

describe('linear ([in, out] layout)', () => {
  it('a 2-D x is one matmul (+ bias), exactly; rank 3 gives the same rows; per-sample weights', () => {
    const x3 = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 6);
    const x2 = tf.reshape(x3, [12, 5]);
    const w = tf.randomNormal([5, 6], 0, 1, 'float32', 7);
    const b = tf.randomNormal([6], 0, 1, 'float32', 8);
    expect(maxAbsDiff(linear(x2, w, b), tf.add(tf.matMul(x2, w), b))).toBe(0);
    expect(maxAbsDiff(linear(x2, w), tf.matMul(x2, w))).toBe(0);
    expect(linear(x3, w, b).shape).toEqual([3, 4, 6]);
    expect(maxAbsDiff(tf.reshape(linear(x3, w, b), [12, 6]), linear(x2, w, b))).toBe(0);
    const xn = tf.randomNormal([3, 5], 0, 1, 'float32', 9);
    const wn = tf.randomNormal([3, 5, 6], 0, 1, 'float32', 10);
    const rows = tf.unstack(xn).map((r, i) => tf.matMul(tf.reshape(r, [1, 5]), tf.unstack(wn)[i]!));
    expect(maxAbsDiff(linear(xn, wn), tf.concat(rows, 0))).toBeLessThan(1e-6);
    expect(() => linear(x2, tf.zeros([6, 5]))).toThrow(ShapeMismatchError);
  });
});
