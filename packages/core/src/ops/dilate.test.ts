import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { dilateKernel } from './dilate.js';
import { maxAbsDiff, useCpu } from '../testing/nets.js';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';

beforeAll(useCpu);

describe('dilateKernel', () => {
  it('puts d − 1 zeros between the taps, per axis, and leaves d = 1 alone', async () => {
    const w = tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]);
    const d = dilateKernel(w, 3);
    expect(d.shape).toEqual([4, 4, 1, 1]);
    expect(Array.from(await d.data())).toEqual([1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 4]);
    const rows = dilateKernel(w, [2, 1]);
    expect(rows.shape).toEqual([3, 2, 1, 1]);
    expect(Array.from(await rows.data())).toEqual([1, 2, 0, 0, 3, 4]);
    expect(dilateKernel(w, 1)).toBe(w);
    expect(dilateKernel(w, [1, 1])).toBe(w);
    expect(() => dilateKernel(w, 0)).toThrow(ConfigError);
    expect(() => dilateKernel(w, [2, 1.5])).toThrow(ConfigError);
    expect(() => dilateKernel(tf.zeros([2, 2, 1]) as tf.Tensor, 2)).toThrow(ShapeMismatchError);
    tf.dispose([w, d, rows]);
  });

  it('per-sample kernels [B, kh, kw, cin, cout] dilate each sample alike; a dilated conv equals tfjs’s own', () => {
    const ws = tf.randomNormal([3, 3, 2, 2, 4], 0, 1, 'float32', 1);
    const d = dilateKernel(ws, [2, 3]);
    expect(d.shape).toEqual([3, 5, 4, 2, 4]);
    const one = dilateKernel(
      tf.reshape(tf.slice(ws, [1, 0, 0, 0, 0], [1, 3, 2, 2, 4]), [3, 2, 2, 4]) as tf.Tensor4D,
      [2, 3],
    );
    expect(maxAbsDiff(tf.reshape(tf.slice(d, [1, 0, 0, 0, 0], [1, 5, 4, 2, 4]), [5, 4, 2, 4]), one)).toBe(0);
    const x = tf.randomNormal([2, 9, 9, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const viaZeros = tf.conv2d(x, dilateKernel(w, 2), 1, 'valid');
    const native = tf.conv2d(x, w, 1, 'valid', 'NHWC', 2);
    expect(maxAbsDiff(viaZeros, native)).toBeLessThan(1e-5);
  });
});
