import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { gelu, geluTanh } from './gelu.js';
import { activate } from './activate.js';
import { useCpu } from '../testing/nets.js';

beforeAll(useCpu);

/** erf to ~1e-12 (series for |x| < 3, continued fraction beyond). */
function erfRef(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = a;
    for (let n = 60; n >= 1; n--) f = a + n / 2 / f;
    r = 1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
  }
  return Math.sign(x) * r;
}

describe('gelu / geluTanh', () => {
  const xs = [-6, -3, -1.5, -0.7, -0.1, 0, 0.05, 0.5, 1, 2.3, 4, 8];

  it('gelu is the exact x·Φ(x) (nn.GELU()), geluTanh the tanh approximation, and they differ', async () => {
    const x = tf.tensor1d(xs);
    const exact = await gelu(x).data();
    const approx = await geluTanh(x).data();
    xs.forEach((v, i) => {
      expect(exact[i]).toBeCloseTo(0.5 * v * (1 + erfRef(v / Math.SQRT2)), 6);
      const c = Math.sqrt(2 / Math.PI);
      expect(approx[i]).toBeCloseTo(0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3))), 6);
    });
    // at x = 1 the two forms differ by ~1.6e-4 (0.841345 vs 0.841192)
    expect(Math.abs(exact[8] - approx[8])).toBeGreaterThan(1e-4);
    x.dispose();
  });

  it("activate: 'gelu' is gelu, 'gelu-tanh' is geluTanh, bit for bit", async () => {
    const x = tf.randomNormal([4, 5], 0, 2, 'float32', 3);
    expect(await activate(x, 'gelu').data()).toEqual(await gelu(x).data());
    expect(await activate(x, 'gelu-tanh').data()).toEqual(await geluTanh(x).data());
    x.dispose();
  });

  it('gradients: d gelu/dx = Φ(x) + x·φ(x)', async () => {
    const x = tf.tensor1d([-1, 0, 0.5, 2]);
    const g = await tf
      .grad((t: tf.Tensor) => tf.sum(gelu(t)))(x)
      .data();
    [-1, 0, 0.5, 2].forEach((v, i) => {
      const want = 0.5 * (1 + erfRef(v / Math.SQRT2)) + (v * Math.exp((-v * v) / 2)) / Math.sqrt(2 * Math.PI);
      expect(g[i]).toBeCloseTo(want, 5);
    });
    x.dispose();
  });
});
