import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { lstmCell, lstmLayer } from './lstm.js';
import { maxAbsDiff, useCpu } from '../testing/nets.js';

beforeAll(useCpu);

const sig = (v: number) => 1 / (1 + Math.exp(-v));

describe('lstmCell / lstmLayer', () => {
  it('one cell update on hand-picked numbers: defaults, candidate mask, cell-output hook, own activations', async () => {
    const [zi, zf, zg, zo, c0] = [0.3, -0.2, 0.5, 1.1, 0.7].map((v) => tf.tensor2d([[v]]));
    const c = sig(-0.2) * 0.7 + sig(0.3) * Math.tanh(0.5);
    const plain = lstmCell(zi, zf, zg, zo, c0);
    expect((await plain.c.data())[0]).toBeCloseTo(c, 6);
    expect((await plain.h.data())[0]).toBeCloseTo(sig(1.1) * Math.tanh(c), 6);
    const first = lstmCell(zi, zf, zg, zo, null); // c_{t-1} = 0: no forget term
    expect((await first.c.data())[0]).toBeCloseTo(sig(0.3) * Math.tanh(0.5), 6);
    const masked = lstmCell(zi, zf, zg, zo, c0, { candidateMask: tf.tensor2d([[0]]), cellOutput: (t) => tf.mul(t, 2) });
    expect((await masked.c.data())[0]).toBeCloseTo(sig(-0.2) * 0.7, 6);
    expect((await masked.h.data())[0]).toBeCloseTo(sig(1.1) * Math.tanh(2 * sig(-0.2) * 0.7), 6);
    const own = lstmCell(zi, zf, zg, zo, c0, {
      gate: (t) => tf.clipByValue(tf.add(0.5, tf.mul(0.2, t)), 0, 1),
      cell: tf.relu,
    });
    const hs = (v: number) => Math.min(1, Math.max(0, 0.5 + 0.2 * v));
    const cOwn = hs(-0.2) * 0.7 + hs(0.3) * 0.5;
    expect((await own.h.data())[0]).toBeCloseTo(hs(1.1) * cOwn, 6);
  });

  it('lstmLayer equals the step-by-step loop of lstmCell (gate columns i | f | g | o)', () => {
    const [n, t, inSize, h] = [2, 3, 4, 5];
    const x = tf.randomNormal([n, t, inSize], 0, 1, 'float32', 1);
    const wIh = tf.randomNormal([inSize, 4 * h], 0, 0.5, 'float32', 2);
    const wHh = tf.randomNormal([h, 4 * h], 0, 0.5, 'float32', 3);
    const b = tf.randomNormal([4 * h], 0, 0.5, 'float32', 4);
    const got = lstmLayer(x, wIh, wHh, b);
    expect(got).toHaveLength(t);
    let hPrev = tf.zeros([n, h]);
    let cPrev = tf.zeros([n, h]);
    for (let s = 0; s < t; s++) {
      const xs = tf.reshape(tf.slice(x, [0, s, 0], [n, 1, inSize]), [n, inSize]);
      const z = tf.add(tf.add(tf.matMul(xs, wIh), tf.matMul(hPrev, wHh)), b);
      const [zi, zf, zg, zo] = tf.split(z, 4, -1);
      ({ h: hPrev, c: cPrev } = lstmCell(zi, zf, zg, zo, cPrev));
      expect(maxAbsDiff(got[s], hPrev)).toBeLessThan(1e-6);
    }
  });
});
