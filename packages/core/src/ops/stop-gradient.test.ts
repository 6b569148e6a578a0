import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/index.js';
import { stopGradient } from './stop-gradient.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('stopGradient', () => {
  it('passes the value and no gradient: d/dx [x² + sg(x)·x] = 2x + sg(x) = 3x', async () => {
    const x = tf.tensor1d([1.5, -2, 0.25]);
    const f = (v: tf.Tensor) => tf.sum(tf.add(tf.square(v), tf.mul(stopGradient(v), v)));
    const g = tf.grad(f)(x);
    expect(Array.from(await g.data())).toEqual([4.5, -6, 0.75]);
    const y = stopGradient(x);
    expect(y.shape).toEqual([3]);
    expect(Array.from(await y.data())).toEqual([1.5, -2, 0.25]);
    tf.dispose([x, g, y]);
  });
});
