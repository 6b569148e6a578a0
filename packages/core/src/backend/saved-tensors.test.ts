import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from './index.js';
import { shareSavedTensors } from './saved-tensors.js';

/** A small net whose gradients save inputs, outputs and variables: matMul, relu, exp, mul, softmax, gather. */
function lossOf(vars: tf.Variable[], x: tf.Tensor2D, ids: tf.Tensor1D) {
  const [w1, b1, w2, emb] = vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
  const e = tf.gather(emb, ids);
  const z = tf.mul(tf.matMul(h, w2), tf.exp(tf.mul(e, 0.1)));
  return tf.mean(tf.neg(tf.logSoftmax(z))) as tf.Scalar;
}

/** Loss and gradients of lossOf on `backend`, with gradient inputs shared or cloned, and what the tape dispatched. */
async function run(backend: 'cpu' | 'wasm', share: boolean) {
  await initBackend(backend);
  shareSavedTensors(share);
  const r = (s: number) => {
    let a = s;
    return () => ((a = (a * 16807) % 2147483647) / 2147483647) * 2 - 1;
  };
  const next = r(7);
  const t = (shape: number[]) => tf.tensor(Array.from({ length: shape.reduce((p, d) => p * d, 1) }, next), shape);
  const vars = [t([6, 5]), t([5]), t([5, 4]), t([3, 4])].map((v) => tf.variable(v));
  const x = t([8, 6]) as tf.Tensor2D;
  const ids = tf.tensor1d([0, 2, 1, 1, 0, 2, 2, 1], 'int32');
  const before = tf.memory();
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => lossOf(vars, x, ids), vars);
    return [value, ...vars.map((v) => grads[v.name]!)];
  });
  const identities = profile.kernels.filter((k) => k.name === 'Identity').length;
  tf.dispose(profile.result as tf.Tensor[]);
  // run again outside the profiler, to read values and check for leaks
  const { value, grads } = tf.variableGrads(() => lossOf(vars, x, ids), vars);
  const out = [await value.data(), ...(await Promise.all(vars.map((v) => grads[v.name]!.data())))];
  tf.dispose([value, ...Object.values(grads)]);
  const after = tf.memory();
  tf.dispose([...vars, x, ids]);
  return { out: out.map((a) => Array.from(a)), identities, leaked: after.numTensors - before.numTensors };
}

describe('gradient inputs saved by reference (shareSavedTensors)', () => {
  afterAll(() => shareSavedTensors(true));

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`${backend}: the same loss and gradients bit for bit as tfjs's clones, no Identity dispatched, nothing leaked`, async () => {
      const cloned = await run(backend, false);
      const shared = await run(backend, true);
      expect(shared.out).toEqual(cloned.out);
      expect(cloned.identities).toBeGreaterThan(5); // tfjs's clone: one Identity per saved tensor
      expect(shared.identities).toBe(0); // logSoftmax's save (a customGrad) too
      expect(shared.leaked).toBe(0);
      expect(cloned.leaked).toBe(0);
    });
  }

  it('a saved tensor keeps its data alive after the forward pass disposed the original', async () => {
    await initBackend('wasm');
    shareSavedTensors(true);
    const w = tf.variable(
      tf.tensor2d([
        [1, -2],
        [3, 0.5],
      ]),
    );
    const g = tf.grad((x: tf.Tensor) => {
      // `s` is an intermediate: tidy disposes it when the forward pass ends; Square's gradient saved it
      const s = tf.matMul(x as tf.Tensor2D, w);
      return tf.sum(tf.square(s));
    });
    const dx = g(
      tf.tensor2d([
        [0.5, 1],
        [-1, 2],
      ]),
    );
    // d/dx Σ (xW)² = 2 (xW) Wᵀ; xW = [[3.5, -0.5], [5, 3]]
    expect(Array.from(await dx.data())).toEqual([
      2 * (3.5 * 1 + -0.5 * -2),
      2 * (3.5 * 3 + -0.5 * 0.5),
      2 * (5 * 1 + 3 * -2),
      2 * (5 * 3 + 3 * 0.5),
    ]);
    tf.dispose([dx, w]);
  });
});
