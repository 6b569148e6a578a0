import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// PyTorch-semantics ops of DARTS-style cells (graph's CellNet): symmetric padding, floor mode.
import { Rng } from '../random.js';
import { initBackend } from '../backend/index.js';
import { depthwiseConv2dTorch } from './depthwise-conv.js';
import { avgPoolTorch } from './pool.js';
import { gradientGap } from '../testing/ops.js';

beforeAll(async () => {
  await initBackend('cpu');
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('depthwiseConv2dTorch', () => {
  const rng = new Rng(3);
  // PyTorch padding p = symmetric zero padding, then tfjs's own dilated depthwise conv (forward only)
  const reference = (x: tf.Tensor4D, w: tf.Tensor4D, stride: number, p: number, d: number) =>
    tf.tidy(() => {
      const xp = tf.pad(x, [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ]);
      const y = tf.depthwiseConv2d(xp, w, 1, 'valid', 'NHWC', d); // tfjs: stride 1 when dilated
      if (stride === 1) return y;
      return tf.stridedSlice(y, [0, 0, 0, 0], y.shape, [1, stride, stride, 1]);
    });

  it.each([
    [3, 2, 1, 2, 7],
    [3, 2, 2, 2, 8],
    [5, 2, 1, 4, 9],
    [5, 2, 2, 4, 8],
    [3, 3, 1, 1, 9],
    [3, 1, 2, 1, 7],
  ])('k=%i dilation=%i stride=%i padding=%i on %i² equals tf.depthwiseConv2d with dilations', (k, d, s, p, hw) => {
    const x = rng.normal([2, hw, hw, 3]) as tf.Tensor4D;
    const w = rng.normal([k, k, 3, 2]) as tf.Tensor4D;
    const y = depthwiseConv2dTorch(x, w, { stride: s, padding: p, dilation: d });
    const r = reference(x, w, s, p, d);
    expect(y.shape).toEqual(r.shape);
    expect(y.shape[1]).toBe(Math.floor((hw + 2 * p - d * (k - 1) - 1) / s) + 1);
    expect(maxAbsDiff(y, r)).toBeLessThan(1e-4);
    tf.dispose([x, w, y, r]);
  });

  it('has the gradients of a dilated conv (central differences along random directions)', () => {
    // the conv is linear in x and in w, so a central difference is exact up to rounding
    for (const [k, d, s, p] of [
      [3, 2, 1, 2],
      [3, 2, 2, 2],
      [5, 2, 2, 4],
    ] as const) {
      const x = rng.normal([2, 8, 8, 3]);
      const w = rng.normal([k, k, 3, 1]);
      const y0 = depthwiseConv2dTorch(x, w, { stride: s, padding: p, dilation: d });
      const r = rng.normal(y0.shape);
      const loss = (xx: tf.Tensor, ww: tf.Tensor) =>
        tf.sum(tf.mul(depthwiseConv2dTorch(xx, ww, { stride: s, padding: p, dilation: d }), r));
      const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => loss(xx, ww))([x, w]);
      for (const [which, g, t] of [
        ['x', gx!, x],
        ['w', gw!, w],
      ] as const) {
        const v = rng.normal(t.shape);
        const eps = 0.5;
        const fd = tf.tidy(() => {
          const plus = which === 'x' ? loss(tf.add(x, tf.mul(v, eps)), w) : loss(x, tf.add(w, tf.mul(v, eps)));
          const minus = which === 'x' ? loss(tf.sub(x, tf.mul(v, eps)), w) : loss(x, tf.sub(w, tf.mul(v, eps)));
          return tf.div(tf.sub(plus, minus), 2 * eps).dataSync()[0]!;
        });
        const analytic = tf.tidy(() => tf.sum(tf.mul(g, v)).dataSync()[0]!);
        expect(Math.abs(fd - analytic) / Math.max(1, Math.abs(analytic)), `d/d${which} k=${k} s=${s}`).toBeLessThan(
          2e-3,
        );
        v.dispose();
      }
      // the dilated kernel's zeros get no gradient into w: gw has w's shape
      expect(gw!.shape).toEqual(w.shape);
      tf.dispose([x, w, y0, r, gx!, gw!]);
    }
  });

  it("has tfjs's own gradients where tfjs has them (no dilation)", () => {
    expect(gradientGap(rng, [2, 9, 9, 4], 5, 1, 2)).toBeLessThan(1e-5);
    expect(gradientGap(rng, [2, 9, 9, 4], 3, 2, 1)).toBeLessThan(1e-5);
  });

  it('rejects kernels that do not match the input channels', () => {
    const x = tf.zeros([1, 5, 5, 3]);
    const w = tf.zeros([3, 3, 4, 1]);
    expect(() => depthwiseConv2dTorch(x, w)).toThrow(/depthwise kernel/);
    tf.dispose([x, w]);
  });
});

describe('avgPoolTorch', () => {
  it('averages over the cells inside the input (count_include_pad=False)', () => {
    const x = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => i),
      [1, 4, 4, 1],
    );
    const y = avgPoolTorch(x, 3, 1, 1);
    const v = y.dataSync();
    expect(y.shape).toEqual([1, 4, 4, 1]);
    expect(v[0]).toBeCloseTo((0 + 1 + 4 + 5) / 4, 5); // corner: 4 cells
    expect(v[1]).toBeCloseTo((0 + 1 + 2 + 4 + 5 + 6) / 6, 5); // edge: 6 cells
    expect(v[5]).toBeCloseTo((0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10) / 9, 5);
    const y2 = avgPoolTorch(x, 3, 2, 1); // PyTorch: ⌊(4 + 2 − 3) / 2⌋ + 1 = 2, windows start at −1
    expect(y2.shape).toEqual([1, 2, 2, 1]);
    expect(y2.dataSync()[3]).toBeCloseTo((5 + 6 + 7 + 9 + 10 + 11 + 13 + 14 + 15) / 9, 5);
    expect(y2.dataSync()[0]).toBeCloseTo((0 + 1 + 4 + 5) / 4, 5);
    const before = tf.memory().numTensors;
    avgPoolTorch(x, 3, 1, 1).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y, y2]);
  });
});
