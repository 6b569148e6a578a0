/**
 * Test helpers for the target-network tests (not exported from the package).
 *
 * tfjs-core alone registers no gradients and no chained tensor methods (the @tensorflow/tfjs
 * umbrella does). Until core registers them itself, the tests load both here; ops.ts still
 * calls `x.reshape(...)` (a chained method). Remove these imports once core registers
 * gradients and ops.ts uses tf.reshape.
 */
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import type { ParamSpec, Weights } from '../params.js';
import { Rng } from '../random.js';
import { initWeights } from '../init.js';
import { assertNoLeaks } from '../memory.js';
import type { TargetNet } from '../target.js';

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
export function randomWeightBatch(
  specs: readonly ParamSpec[],
  b: number,
  seed: number,
  scale = 0.5,
  normScale = 1,
): Weights {
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
      const lossI = (...ws: tf.Tensor[]) =>
        tf.sum(tf.mul(run(xi, Object.fromEntries(names.map((n, k) => [n, ws[k]]))), pi));
      const gi = tf.grads(lossI)(names.map((n) => wi[n]));
      gi.forEach((g, k) => {
        grd = Math.max(grd, maxAbsDiff(g, tf.reshape(tf.slice(gB[k], [i], [1]), g.shape)));
      });
    }
    const fwd = maxAbsDiff(y, tf.concat(ys, 0));
    return { forward: fwd, grads: grd, maxGrad, maxOut };
  });
}

/**
 * Central finite differences of the scalar f at `count` coordinates of w, against tf.grad.
 * Returns the worst |analytic − numeric| / max(1, |numeric|). float32: use eps ≈ 1e-2.
 */
export function finiteDifferenceError(
  f: (w: tf.Tensor) => tf.Scalar,
  w: tf.Tensor,
  count = 6,
  eps = 1e-2,
  seed = 3,
): number {
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

// ---------- whole-net helpers (a TargetNet and its own init) ----------

/** Weights from the net's init plus noise, so zero biases and unit (LN) scales are tested too. */
export function noisyWeights(net: TargetNet, seed: number, scale = 0.3): Weights {
  const rng = new Rng(seed);
  const w = initWeights(net.params, rng);
  const out: Weights = {};
  for (const s of net.params) {
    out[s.name] = tf.tidy(() => tf.add(w[s.name], rng.normal([...s.shape], 0, scale)));
    w[s.name].dispose();
  }
  return out;
}

/** Per-sample weights: the sets stacked along a new leading axis. */
export function stackWeights(net: TargetNet, sets: Weights[]): Weights {
  return Object.fromEntries(net.params.map((s) => [s.name, tf.stack(sets.map((w) => w[s.name]))]));
}

/**
 * Per-sample forward and gradients vs a loop over samples with shared weights (one
 * noisyWeights set per sample, seeds seed, seed + 1, …). Gradients of L = Σ y·r.
 */
export function perSampleVsLoop(net: TargetNet, x: tf.Tensor, seed: number): { fwd: number; grad: number } {
  const n = x.shape[0];
  const sets = Array.from({ length: n }, (_, i) => noisyWeights(net, seed + i));
  const stacked = stackWeights(net, sets);
  const names = net.params.map((s) => s.name);
  const out = tf.tidy(() => {
    const yb = net.forward(x, stacked);
    const r = new Rng(seed + 1000).normal(yb.shape);
    const lossOf =
      (xi: tf.Tensor, ri: tf.Tensor) =>
      (...ws: tf.Tensor[]) =>
        tf.sum(tf.mul(net.forward(xi, Object.fromEntries(names.map((k, j) => [k, ws[j]]))), ri));
    const gb = tf.grads(lossOf(x, r))(names.map((k) => stacked[k]));
    const ys: tf.Tensor[] = [];
    const gl: tf.Tensor[][] = names.map(() => []);
    for (let i = 0; i < n; i++) {
      const xi = tf.slice(x, i, 1);
      ys.push(net.forward(xi, sets[i]));
      tf.grads(lossOf(xi, tf.slice(r, i, 1)))(names.map((k) => sets[i][k])).forEach((g, j) => gl[j].push(g));
    }
    const fwd = maxAbsDiff(yb, tf.concat(ys));
    const grad = Math.max(...names.map((_, j) => maxAbsDiff(gb[j], tf.stack(gl[j]))));
    return { fwd, grad };
  });
  disposeWeights(stacked, ...sets);
  return out;
}

/**
 * Directional finite differences at w = noisyWeights(net, weightsSeed, 0.3), one direction per
 * parameter tensor: (L(w + εd) − L(w − εd)) / 2ε vs ⟨∇L, d⟩, with L = Σ y·r. Expects each to
 * agree within 1e-2 · max(1, |analytic|).
 */
export function finiteDifferenceCheck(net: TargetNet, x: tf.Tensor, weightsSeed: number, eps = 1e-2): void {
  const weights = noisyWeights(net, weightsSeed, 0.3);
  const names = net.params.map((s) => s.name);
  const rng = new Rng(77);
  const r = rng.normal([x.shape[0], ...net.outputShape]);
  const loss = (w: Weights) => tf.tidy(() => tf.sum(tf.mul(net.forward(x, w), r)));
  const grads = tf.grads((...ws: tf.Tensor[]) => loss(Object.fromEntries(names.map((k, j) => [k, ws[j]]))))(
    names.map((k) => weights[k]),
  );
  names.forEach((name, j) => {
    const d = rng.normal([...weights[name].shape]);
    const analytic = tf.sum(tf.mul(grads[j], d)).dataSync()[0];
    const at = (sign: number) => {
      const moved = tf.add(weights[name], tf.mul(d, sign * eps));
      const v = loss({ ...weights, [name]: moved });
      const out = v.dataSync()[0];
      tf.dispose([moved, v]);
      return out;
    };
    const numeric = (at(1) - at(-1)) / (2 * eps);
    const err = Math.abs(numeric - analytic);
    expect(err, `${name}: numeric ${numeric} vs analytic ${analytic}`).toBeLessThanOrEqual(
      1e-2 * Math.max(1, Math.abs(analytic)),
    );
    d.dispose();
  });
  tf.dispose([r, ...grads]);
  disposeWeights(weights);
}

/**
 * Control for perSampleVsLoop: sample 0 of x under a rotated stack of three noisyWeights sets
 * (seeds seed + 1, seed + 2, seed) against sample 0 under set `seed`. Returns the max abs
 * difference (large when the comparison can see weight sets mixed up).
 */
export function mixedUpDifference(net: TargetNet, x: tf.Tensor, seed: number): number {
  const sets = [0, 1, 2].map((s) => noisyWeights(net, seed + s));
  const rotated = stackWeights(net, [sets[1], sets[2], sets[0]]);
  const mixedUp = tf.tidy(() =>
    maxAbsDiff(net.forward(tf.slice(x, 0, 1), sets[0]), tf.slice(net.forward(x, rotated), 0, 1)),
  );
  disposeWeights(rotated, ...sets);
  return mixedUp;
}

/** Three adam steps in training mode (dropout masks from Rng(2)) and an eval forward leak no tensors. */
export async function expectNoLeaksWhileTraining(
  net: TargetNet,
  vars: Weights,
  x: tf.Tensor,
  label: string,
): Promise<void> {
  const opt = tf.train.adam(0.01);
  const rng = new Rng(2);
  await assertNoLeaks(
    () => opt.minimize(() => tf.mean(tf.square(net.forward(x, vars, { training: true, rng }))) as tf.Scalar, true),
    { steps: 3, label: `${label} training step` },
  );
  await assertNoLeaks(() => net.forward(x, vars), { label: `${label} forward` });
  opt.dispose();
}

/** A training-mode forward (init from a seed, dropout masks from seed + 1) repeats for the same seed and differs for another. */
export function expectReproducibleFromSeed(net: TargetNet, x: tf.Tensor): void {
  const run = (seed: number) => {
    const w = initWeights(net.params, new Rng(seed));
    const y = net.forward(x, w, { training: true, rng: new Rng(seed + 1) });
    const out = Array.from(y.dataSync());
    disposeWeights(w);
    y.dispose();
    return out;
  };
  expect(run(7)).toEqual(run(7));
  expect(run(7)).not.toEqual(run(8));
}

/**
 * Adam on the sigmoid cross-entropy of the net's logits, a fresh batch of 32 each step, then
 * the accuracy of logits > 0 on a held-out batch of 512 (returned).
 */
export function trainBinaryClassifier(
  net: TargetNet,
  vars: Weights,
  batch: (n: number) => { x: tf.Tensor; y: tf.Tensor },
  steps: number,
  learningRate: number,
): { accuracy: number } {
  const opt = tf.train.adam(learningRate);
  for (let step = 0; step < steps; step++) {
    const { x, y } = batch(32);
    opt.minimize(() => tf.losses.sigmoidCrossEntropy(y, net.forward(x, vars)) as tf.Scalar);
    tf.dispose([x, y]);
  }
  const { x, y } = batch(512);
  const accuracy = tf.tidy(
    () => tf.mean(tf.cast(tf.equal(tf.greater(net.forward(x, vars), 0), tf.cast(y, 'bool')), 'float32')).dataSync()[0],
  );
  opt.dispose();
  tf.dispose([x, y]);
  return { accuracy };
}
