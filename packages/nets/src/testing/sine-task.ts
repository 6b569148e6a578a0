// Test-only: the sine-regression task shared by learning*.test.ts, structured.test.ts and
// examples/mip-vs-plain.ts (not exported).
import * as tf from '@tensorflow/tfjs-core';
import { MLP, Rng, mse } from '@hypernets/core';
import type { HyperNet } from '../hypernet.js';

/**
 * Sine regression conditioned on (amplitude, phase): y = A·sin(x + φ), A ∈ [0.5, 2],
 * φ ∈ [0, π], x ∈ [−π, π]. Condition input γ = ((A − 0.5)/1.5, φ/π) ∈ [0, 1]². Each step:
 * T tasks × n points; every point carries its task's condition, so the target MLP 1-16-16-1
 * runs once with per-sample weights. Baseline (predict 0): E[y²] = E[A²]/2 ≈ 0.875.
 */
export const target = new MLP({ inputSize: 1, hiddenSizes: [16, 16], outputSize: 1, activation: 'tanh' });

export function batch(rng: Rng, tasks: number, n: number) {
  const cond: number[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  for (let t = 0; t < tasks; t++) {
    const g0 = rng.uniform();
    const g1 = rng.uniform();
    const A = 0.5 + 1.5 * g0;
    const phi = Math.PI * g1;
    for (let i = 0; i < n; i++) {
      const x = -Math.PI + 2 * Math.PI * rng.uniform();
      cond.push(g0, g1);
      xs.push(x);
      ys.push(A * Math.sin(x + phi));
    }
  }
  const N = xs.length;
  return { cond: tf.tensor2d(cond, [N, 2]), x: tf.tensor2d(xs, [N, 1]), y: tf.tensor2d(ys, [N, 1]) };
}

export async function train(h: Pick<HyperNet, 'generate' | 'trainableVariables'>, steps: number, lr = 1e-2) {
  const opt = tf.train.adam(lr);
  const rng = new Rng(11);
  const loss = (b: ReturnType<typeof batch>) => () => mse(target.forward(b.x, h.generate({ input: b.cond })), b.y);
  const step = () => {
    const b = batch(rng, 8, 8);
    const c = opt.minimize(loss(b), true, h.trainableVariables());
    tf.dispose([b.cond, b.x, b.y]);
    return c;
  };
  for (let i = 0; i < steps; i++) tf.dispose(step()!);
  const test = batch(new Rng(999), 32, 32);
  const testLoss = loss(test)();
  const final = (await testLoss.data())[0]!;
  testLoss.dispose();
  tf.dispose([test.cond, test.x, test.y]);
  opt.dispose();
  return { final };
}
