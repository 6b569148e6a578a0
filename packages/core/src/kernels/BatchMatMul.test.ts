import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../backend/index.js';
import { batchMatMulConfig } from './BatchMatMul.js';
import { compare, randData, rng, valuesOn as on } from '../testing/kernels.js';

describe('wasm BatchMatMul (transposes done by Transpose + untransposed product)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    await initBackend('cpu');
  });

  it('is the kernel registered for wasm', () => {
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(batchMatMulConfig);
  });

  it('matches cpu for every transpose combination, 2-D and batched, forward and gradients', async ({ annotate }) => {
    const r = rng(11);
    let worst = 0;
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      for (const batch of [[], [3], [2, 2]]) {
        const m = r.int(1, 9),
          k = r.int(1, 9),
          n = r.int(1, 9);
        const aShape = [...batch, ...(ta ? [k, m] : [m, k])];
        const bShape = [...batch, ...(tb ? [n, k] : [k, n])];
        const av = randData(r, aShape),
          bv = randData(r, bShape);
        const f = () =>
          tf.tidy(() => {
            const a = tf.tensor(av, aShape),
              b = tf.tensor(bv, bShape);
            const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))));
            const [ga, gb] = g([a, b]);
            return tf.concat([tf.reshape(tf.matMul(a, b, ta, tb), [-1]), tf.reshape(ga, [-1]), tf.reshape(gb, [-1])]);
          });
        const c = compare(await on('cpu', f), await on('wasm', f));
        worst = Math.max(worst, c.maxAbs / c.scale);
      }
    }
    await annotate(`[BatchMatMul] max relative error vs cpu: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
  });

  it('products with a large new b and a short a (computed as (bᵀ·aᵀ)ᵀ) match cpu, forward and gradients, and leak nothing', async () => {
    const r = rng(12);
    for (const [m, k, n, ta, tb] of [
      [3, 300, 300, false, false],
      [25, 140, 600, true, false],
      [8, 256, 512, false, true],
      [2, 1024, 70, false, false],
    ] as const) {
      const aShape = ta ? [k, m] : [m, k];
      const bShape = tb ? [n, k] : [k, n];
      const av = randData(r, aShape),
        bv = randData(r, bShape);
      const f = () =>
        tf.tidy(() => {
          const a = tf.tensor(av, aShape),
            b = tf.tensor(bv, bShape);
          const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))))([a, b]);
          return tf.concat([tf.reshape(tf.matMul(a, b, ta, tb), [-1]), tf.reshape(ga!, [-1]), tf.reshape(gb!, [-1])]);
        });
      const c = compare(await on('cpu', f), await on('wasm', f));
      expect(c.maxAbs / c.scale, `[${aShape}]${ta ? 'ᵀ' : ''} · [${bShape}]${tb ? 'ᵀ' : ''}`).toBeLessThan(1e-5);
    }
    await tf.setBackend('wasm');
    const a = tf.randomNormal([3, 300]),
      b = tf.randomNormal([300, 300]);
    const before = tf.memory();
    for (let i = 0; i < 3; i++) tf.tidy(() => tf.matMul(a, tf.mul(b, 1)).dispose());
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    tf.dispose([a, b]);
  });

  it('leaks no tensors or heap buffers', async () => {
    await tf.setBackend('wasm');
    const a = tf.randomNormal([4, 5]),
      b = tf.randomNormal([6, 5]);
    const before = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 3; i++) tf.matMul(a, b, false, true).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytes);
    tf.dispose([a, b]);
  });
});
