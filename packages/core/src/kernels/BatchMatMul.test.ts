import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../backend/index.js';
import { batchMatMulConfig } from './BatchMatMul.js';
import { compare, randData, rng } from './test_helpers.js';

async function on(backend: string, f: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const t = f();
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

describe('wasm BatchMatMul (transposes done by Transpose + untransposed product)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    await initBackend('cpu');
  });

  it('is the kernel registered for wasm', () => {
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(batchMatMulConfig);
  });

  it('matches cpu for every transpose combination, 2-D and batched, forward and gradients', async () => {
    const r = rng(11);
    let worst = 0;
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      for (const batch of [[], [3], [2, 2]]) {
        const m = r.int(1, 9), k = r.int(1, 9), n = r.int(1, 9);
        const aShape = [...batch, ...(ta ? [k, m] : [m, k])];
        const bShape = [...batch, ...(tb ? [n, k] : [k, n])];
        const av = randData(r, aShape), bv = randData(r, bShape);
        const f = () =>
          tf.tidy(() => {
            const a = tf.tensor(av, aShape), b = tf.tensor(bv, bShape);
            const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))));
            const [ga, gb] = g([a, b]);
            return tf.concat([tf.reshape(tf.matMul(a, b, ta, tb), [-1]), tf.reshape(ga, [-1]), tf.reshape(gb, [-1])]);
          });
        const c = compare(await on('cpu', f), await on('wasm', f));
        worst = Math.max(worst, c.maxAbs / c.scale);
      }
    }
    console.log(`[BatchMatMul] max relative error vs cpu: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
  });

  it('leaks no tensors or heap buffers', async () => {
    await tf.setBackend('wasm');
    const a = tf.randomNormal([4, 5]), b = tf.randomNormal([6, 5]);
    const before = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 3; i++) tf.matMul(a, b, false, true).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytes);
    tf.dispose([a, b]);
  });
});
