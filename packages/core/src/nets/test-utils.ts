/**
 * Test helpers for the target-network tests (not exported from the package).
 *
 * tfjs-core alone registers no gradients and no chained tensor methods (the @tensorflow/tfjs
 * umbrella does). Until core registers them itself, the tests load both here; ops.ts still
 * calls `x.reshape(...)` (a chained method). Remove these imports once core registers
 * gradients and ops.ts uses tf.reshape.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import type { ParamSpec, Weights } from '../params.js';
import { Rng } from '../random.js';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shapes differ: [${a.shape}] vs [${b.shape}]`);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/**
 * B weight sets drawn independently (random, non-trivial even for biases and norm params so
 * that mixing samples up would show), stacked along a new leading axis.
 */
export function randomWeightBatch(specs: readonly ParamSpec[], b: number, seed: number, scale = 0.5, normScale = 1): Weights {
  const rng = new Rng(seed);
  const out: Weights = {};
  for (const s of specs) {
    const base = s.kind === 'norm-scale' ? normScale : 0;
    const std = s.kind === 'weight' ? Math.sqrt(2 / s.fanIn) : scale * 0.2;
    out[s.name] = tf.tidy(() => tf.add(rng.normal([b, ...s.shape], 0, std), base));
  }
  return out;
}

/** Weight set i of a batched set (shapes of the specs). */
export function pickSample(weights: Weights, i: number): Weights {
  const out: Weights = {};
  for (const [k, v] of Object.entries(weights))
    out[k] = tf.tidy(() => tf.reshape(tf.slice(v, [i], [1]), v.shape.slice(1)));
  return out;
}

export function sampleOf(x: tf.Tensor, i: number): tf.Tensor {
  return tf.slice(x, [i], [1]);
}

export function disposeWeights(...ws: Weights[]): void {
  for (const w of ws) tf.dispose(Object.values(w));
}

/**
 * Compares per-sample forward + gradients against the one-at-a-time loop. `run(x, w)` maps an
 * input and a weight set (batched or single) to the output. Gradients of the scalar
 * Σ output·probe w.r.t. every weight tensor. Returns the max abs errors and the largest
 * |gradient| / |output| (float32 errors scale with them).
 */
export function comparePerSampleWithLoop(
  specs: readonly ParamSpec[],
  run: (x: tf.Tensor, w: Weights) => tf.Tensor,
  x: tf.Tensor,
  weights: Weights,
): { forward: number; grads: number; maxGrad: number; maxOut: number } {
  const b = x.shape[0];
  const names = specs.map((s) => s.name);
  return tf.tidy(() => {
    const y = run(x, weights);
    const probe = tf.randomNormal(y.shape, 0, 1, 'float32', 7);
    const lossBatched = (...ws: tf.Tensor[]) =>
      tf.sum(tf.mul(run(x, Object.fromEntries(names.map((n, i) => [n, ws[i]]))), probe));
    const gB = tf.grads(lossBatched)(names.map((n) => weights[n]));
    const ys: tf.Tensor[] = [];
    let fwd = 0;
    let grd = 0;
    let maxGrad = 0;
    for (const g of gB) maxGrad = Math.max(maxGrad, tf.max(tf.abs(g)).dataSync()[0]);
    const maxOut = tf.max(tf.abs(y)).dataSync()[0];
    for (let i = 0; i < b; i++) {
      const wi = pickSample(weights, i);
      const xi = sampleOf(x, i);
      const yi = run(xi, wi);
      ys.push(yi);
      const pi = sampleOf(probe, i);
      const lossI = (...ws: tf.Tensor[]) => tf.sum(tf.mul(run(xi, Object.fromEntries(names.map((n, k) => [n, ws[k]]))), pi));
      const gi = tf.grads(lossI)(names.map((n) => wi[n]));
      gi.forEach((g, k) => {
        grd = Math.max(grd, maxAbsDiff(g, tf.reshape(tf.slice(gB[k], [i], [1]), g.shape)));
      });
    }
    fwd = maxAbsDiff(y, tf.concat(ys, 0));
    return { forward: fwd, grads: grd, maxGrad, maxOut };
  });
}

/**
 * Central finite differences of the scalar f at `count` coordinates of w, against tf.grad.
 * Returns the worst |analytic − numeric| / max(1, |numeric|). float32: use eps ≈ 1e-2.
 */
export function finiteDifferenceError(f: (w: tf.Tensor) => tf.Scalar, w: tf.Tensor, count = 6, eps = 1e-2, seed = 3): number {
  return tf.tidy(() => {
    const g = tf.grad(f)(w).dataSync();
    const base = w.dataSync();
    const rng = new Rng(seed);
    let worst = 0;
    for (let c = 0; c < count; c++) {
      const j = rng.int(0, base.length - 1);
      const plus = base.slice();
      plus[j] += eps;
      const minus = base.slice();
      minus[j] -= eps;
      const fp = f(tf.tensor(plus, w.shape)).dataSync()[0];
      const fm = f(tf.tensor(minus, w.shape)).dataSync()[0];
      const numeric = (fp - fm) / (2 * eps);
      worst = Math.max(worst, Math.abs(g[j] - numeric) / Math.max(1, Math.abs(numeric)));
    }
    return worst;
  });
}
