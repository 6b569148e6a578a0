import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors/index.js';
import { NetState } from '../state.js';
import { assertNoLeaks } from '../memory.js';
import { batchNorm, batchNormSpecs, batchNormStateSpecs } from './batch-norm.js';
import { finiteDifferenceError, maxAbsDiff, useCpu } from '../testing/nets.js';

/** Per-channel mean and biased/unbiased variance of rows (JS, float64). */
function stats(rows: number[][], c: number) {
  const n = rows.length;
  const mean = Array.from({ length: c }, (_, k) => rows.reduce((s, r) => s + r[k], 0) / n);
  const ss = Array.from({ length: c }, (_, k) => rows.reduce((s, r) => s + (r[k] - mean[k]) ** 2, 0));
  return { mean, biased: ss.map((v) => v / n), unbiased: ss.map((v) => v / (n - 1)) };
}

function rowsOf(x: tf.Tensor, sample?: number): number[][] {
  const c = x.shape[x.rank - 1];
  const t = sample === undefined ? x : tf.slice(x, [sample], [1]);
  const flat = Array.from(t.dataSync());
  const rows: number[][] = [];
  for (let i = 0; i < flat.length; i += c) rows.push(flat.slice(i, i + c));
  return rows;
}

describe('batchNorm', () => {
  beforeAll(useCpu);

  it('names params and state like PyTorch', () => {
    expect(batchNormSpecs('layer1.0.bn1', 16, 3).map((s) => [s.name, s.kind, s.shape])).toEqual([
      ['layer1.0.bn1.weight', 'norm-scale', [16]],
      ['layer1.0.bn1.bias', 'norm-shift', [16]],
    ]);
    expect(batchNormStateSpecs('bn1', 4)).toEqual([
      { name: 'bn1.running_mean', shape: [4], init: 'zeros' },
      { name: 'bn1.running_var', shape: [4], init: 'ones' },
    ]);
  });

  it('training: batch statistics over N, H, W and the PyTorch running update (momentum 0.1, unbiased variance)', () => {
    const state = new NetState(batchNormStateSpecs('bn', 3));
    const rm = state.get('0', 'bn.running_mean');
    const rv = state.get('0', 'bn.running_var');
    const x = tf.add(tf.mul(tf.randomNormal([4, 3, 2, 3], 0, 1, 'float32', 1), 2), 5);
    const gamma = tf.tensor1d([1, 2, 0.5]);
    const beta = tf.tensor1d([0, 1, -1]);
    const y = batchNorm(x, gamma, beta, { training: true, perSample: false, runningMean: rm, runningVar: rv });
    const s = stats(rowsOf(x), 3);
    const ys = stats(rowsOf(y), 3);
    for (let k = 0; k < 3; k++) {
      expect(ys.mean[k]).toBeCloseTo([0, 1, -1][k], 4);
      expect(Math.sqrt(ys.biased[k])).toBeCloseTo([1, 2, 0.5][k] * Math.sqrt(s.biased[k] / (s.biased[k] + 1e-5)), 4);
    }
    const m = Array.from(rm.dataSync());
    const v = Array.from(rv.dataSync());
    for (let k = 0; k < 3; k++) {
      expect(m[k]).toBeCloseTo(0.9 * 0 + 0.1 * s.mean[k], 5);
      expect(v[k]).toBeCloseTo(0.9 * 1 + 0.1 * s.unbiased[k], 5);
    }
    // eval: the running statistics, by hand
    const ye = batchNorm(x, gamma, beta, { training: false, perSample: false, runningMean: rm, runningVar: rv });
    const xr = rowsOf(x);
    const er = rowsOf(ye);
    for (let i = 0; i < xr.length; i += 5)
      for (let k = 0; k < 3; k++)
        expect(er[i][k]).toBeCloseTo(((xr[i][k] - m[k]) / Math.sqrt(v[k] + 1e-5)) * [1, 2, 0.5][k] + [0, 1, -1][k], 4);
    tf.dispose([x, gamma, beta, y, ye]);
    state.dispose();
  });

  it('per-sample: statistics per sample, running update equals B sequential batch-of-one steps', () => {
    const B = 3;
    const specs = batchNormStateSpecs('bn', 2);
    const batched = new NetState(specs);
    const looped = new NetState(specs);
    const x = tf.randomNormal([B, 4, 4, 2], 1, 2, 'float32', 2);
    const gamma = tf.randomNormal([B, 2], 1, 0.2, 'float32', 3);
    const beta = tf.randomNormal([B, 2], 0, 0.2, 'float32', 4);
    const call = (st: NetState) => ({
      training: true,
      runningMean: st.get('0', 'bn.running_mean'),
      runningVar: st.get('0', 'bn.running_var'),
    });
    const y = batchNorm(x, gamma, beta, { ...call(batched), perSample: true });
    for (let i = 0; i < B; i++) {
      const yi = batchNorm(
        tf.slice(x, [i], [1]),
        tf.reshape(tf.slice(gamma, [i], [1]), [2]),
        tf.reshape(tf.slice(beta, [i], [1]), [2]),
        { ...call(looped), perSample: false },
      );
      expect(maxAbsDiff(tf.slice(y, [i], [1]), yi)).toBeLessThan(1e-5);
      // by hand: sample i's own statistics
      const s = stats(rowsOf(x, i), 2);
      const r = rowsOf(yi);
      const g = Array.from(tf.slice(gamma, [i], [1]).dataSync());
      const b = Array.from(tf.slice(beta, [i], [1]).dataSync());
      const xr = rowsOf(x, i);
      for (let k = 0; k < 2; k++)
        expect(r[0][k]).toBeCloseTo(((xr[0][k] - s.mean[k]) / Math.sqrt(s.biased[k] + 1e-5)) * g[k] + b[k], 4);
    }
    for (const n of ['bn.running_mean', 'bn.running_var'])
      expect(maxAbsDiff(batched.get('0', n), looped.get('0', n))).toBeLessThan(1e-6);
    tf.dispose([x, gamma, beta, y]);
    batched.dispose();
    looped.dispose();
  });

  it('keeps running statistics per condition', () => {
    const state = new NetState(batchNormStateSpecs('bn', 2));
    const x = tf.randomNormal([4, 2, 2, 2], 3, 1, 'float32', 5);
    const g = tf.ones([2]);
    const b = tf.zeros([2]);
    batchNorm(x, g, b, {
      training: true,
      perSample: false,
      runningMean: state.get('task-a', 'bn.running_mean'),
      runningVar: state.get('task-a', 'bn.running_var'),
    }).dispose();
    expect(Array.from(state.get('task-b', 'bn.running_mean').dataSync())).toEqual([0, 0]);
    expect(state.get('task-a', 'bn.running_mean').dataSync()[0]).toBeGreaterThan(0.1);
    tf.dispose([x, g, b]);
    state.dispose();
  });

  it('errors: eval without running stats, one value per channel in training, wrong γ shape', () => {
    const g = tf.ones([2]);
    const b = tf.zeros([2]);
    expect(() => batchNorm(tf.zeros([2, 3, 3, 2]), g, b, { training: false, perSample: false })).toThrow(
      /options.state/,
    );
    expect(() => batchNorm(tf.zeros([1, 1, 1, 2]), g, b, { training: true, perSample: false })).toThrow(ConfigError);
    expect(() =>
      batchNorm(tf.zeros([2, 1, 1, 2]), tf.ones([2, 2]), tf.zeros([2, 2]), { training: true, perSample: true }),
    ).toThrow(/each sample alone/);
    expect(() => batchNorm(tf.zeros([2, 3, 3, 2]), tf.ones([3]), b, { training: true, perSample: false })).toThrow(
      /weight/,
    );
    tf.dispose([g, b]);
  });

  it('gradients through batch statistics match finite differences; running stats are not on the tape', () => {
    const state = new NetState(batchNormStateSpecs('bn', 2));
    const x = tf.randomNormal([3, 2, 2, 2], 0, 1, 'float32', 6);
    const gamma = tf.tensor1d([1.5, 0.7]);
    const beta = tf.tensor1d([0.1, -0.2]);
    const probe = tf.randomNormal([3, 2, 2, 2], 0, 1, 'float32', 7);
    const f = (a: tf.Tensor) =>
      tf.sum(tf.mul(tf.tanh(batchNorm(a, gamma, beta, { training: true, perSample: false })), probe)) as tf.Scalar;
    expect(finiteDifferenceError(f, x, 8)).toBeLessThan(1e-2);
    const fg = (g: tf.Tensor) =>
      tf.sum(tf.mul(tf.tanh(batchNorm(x, g, beta, { training: true, perSample: false })), probe)) as tf.Scalar;
    expect(finiteDifferenceError(fg, gamma, 2)).toBeLessThan(1e-2);
    // With running-stat updates inside tf.grads: same gradient, updates happen, nothing leaks.
    const rm = state.get('0', 'bn.running_mean');
    const rv = state.get('0', 'bn.running_var');
    const withUpdate = (g: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.tanh(batchNorm(x, g, beta, { training: true, perSample: false, runningMean: rm, runningVar: rv })),
          probe,
        ),
      );
    const g1 = tf.grad(withUpdate)(gamma);
    const g0 = tf.grad(fg)(gamma);
    expect(maxAbsDiff(g1, g0)).toBe(0);
    expect(rm.dataSync()[0]).not.toBe(0);
    tf.dispose([g0, g1]);
    tf.dispose([x, gamma, beta, probe]);
    state.dispose();
  });

  it('leaks no tensors across training steps that update the running statistics', async () => {
    const state = new NetState(batchNormStateSpecs('bn', 4));
    const x = tf.randomNormal([2, 3, 3, 4]);
    const gamma = tf.variable(tf.ones([2, 4]));
    const beta = tf.variable(tf.zeros([2, 4]));
    const opt = tf.train.sgd(0.1);
    const rm = state.get('0', 'bn.running_mean');
    const rv = state.get('0', 'bn.running_var');
    await assertNoLeaks(() =>
      opt.minimize(
        () =>
          tf.sum(
            tf.square(batchNorm(x, gamma, beta, { training: true, perSample: true, runningMean: rm, runningVar: rv })),
          ) as tf.Scalar,
        false,
        [gamma, beta],
      ),
    );
    tf.dispose([x, gamma, beta]);
    opt.dispose();
    state.dispose();
  });
});
