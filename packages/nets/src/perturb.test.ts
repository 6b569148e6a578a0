import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MLP, Rng, assertNoLeaks, initBackend, mse, type Weights } from '@hypernets/core';
import { HyperMLP } from './hmlp.js';
import { LowRankHyperNet } from './lowrank.js';
import { PerturbedHyperNet } from './perturb.js';
import { checkGradients, configErrorField, maxAbs } from './testing/helpers.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const target = new MLP({ inputSize: 8, hiddenSizes: [16], outputSize: 4 }); // P = 212
const flatOf = (w: Weights, lead: number[] = []) =>
  tf.concat(
    target.params.map((s) => tf.reshape(w[s.name]!, [...lead, -1])),
    lead.length,
  );
const inner = (seed = 1) => new HyperMLP({ target, numConditions: 3, hiddenSizes: [8], seed });

describe('noise statistics', () => {
  it('w − h(z) over many draws: mean 0, variance σ², Gaussian mass within ±σ (fixed σ)', async ({ annotate }) => {
    const p = new PerturbedHyperNet({ inner: inner(), sigma: 0.3, rng: 11 });
    const mean = p.generate({ id: 1 }, { sample: false });
    const K = 100;
    const stats = tf.tidy(() => {
      const m = flatOf(mean);
      const d = tf.stack(Array.from({ length: K }, () => tf.sub(flatOf(p.generate({ id: 1 })), m))); // [K, P]
      const { mean: mu, variance } = tf.moments(d);
      const within = tf.mean(tf.cast(tf.lessEqual(tf.abs(d), 0.3), 'float32'));
      return [mu, variance, within].map((t) => t.dataSync()[0]!);
    });
    const [mu, v, within] = stats as [number, number, number];
    const n = K * 212;
    await annotate(
      `fixed σ = 0.3 over ${n} entries: mean ${mu.toExponential(2)} (z = ${((mu * Math.sqrt(n)) / 0.3).toFixed(2)}), ` +
        `var/σ² ${(v / 0.09).toFixed(4)}, P(|ε·σ| ≤ σ) ${within.toFixed(4)} (0.6827)`,
    );
    expect(Math.abs(mu)).toBeLessThan((4 * 0.3) / Math.sqrt(n));
    expect(Math.abs(v / 0.09 - 1)).toBeLessThan(0.05); // ±5 standard errors (√(2/n) ≈ 1%)
    expect(Math.abs(within - 0.6827)).toBeLessThan(0.02);
    tf.dispose(Object.values(mean));
    p.dispose();
  });

  it('learned per-tensor σ: each tensor has its own variance σ_t² (batched draws)', async ({ annotate }) => {
    const p = new PerturbedHyperNet({ inner: inner(), sigma: 0.1, learnSigma: true, rng: 3 });
    const want: Record<string, number> = { 'fc1.weight': 0.1, 'fc1.bias': 0.02, 'fc2.weight': 0.5, 'fc2.bias': 1.5 };
    const own = p.ownWeights();
    for (const [name, s] of Object.entries(want))
      tf.tidy(() => (own[`logSigma.${name}`] as tf.Variable).assign(tf.fill([1], Math.log(s))));
    expect((await p.sigmas())['fc2.bias']).toBeCloseTo(1.5, 5);
    const K = 400;
    const ids = new Array(K).fill(2);
    const mean = p.generate({ id: 2 }, { sample: false });
    const w = p.generate({ id: ids });
    for (const s of target.params) {
      const v = tf.tidy(() => tf.mean(tf.square(tf.sub(w[s.name]!, mean[s.name]!))).dataSync()[0]!);
      const ratio = v / want[s.name]! ** 2;
      await annotate(
        `  ${s.name}: var/σ_t² = ${ratio.toFixed(3)} over ${K * s.shape.reduce((a, b) => a * b, 1)} draws`,
      );
      expect(Math.abs(ratio - 1)).toBeLessThan(0.15);
    }
    tf.dispose([...Object.values(mean), ...Object.values(w)]);
    p.dispose();
  });

  it('batched conditions get independent ε per sample', async ({ annotate }) => {
    const p = new PerturbedHyperNet({ inner: inner(), sigma: 1, rng: 5 });
    const w = p.generate({ id: [0, 0, 0, 0] });
    const m = p.generate({ id: [0, 0, 0, 0] }, { sample: false });
    const corr = tf.tidy(() => {
      const d = tf.sub(flatOf(w, [4]), flatOf(m, [4])); // [4, P]
      const z = tf.div(tf.sub(d, tf.mean(d, 1, true)), tf.sqrt(tf.moments(d, 1, true).variance));
      const c = tf.div(tf.matMul(z, z, false, true), 212); // correlation matrix [4, 4]
      return Array.from(c.dataSync());
    });
    const off = corr.filter((_, i) => Math.floor(i / 4) !== i % 4).map(Math.abs);
    await annotate(
      `max |corr| between samples' ε: ${Math.max(...off).toFixed(3)} (4/√P = ${(4 / Math.sqrt(212)).toFixed(3)})`,
    );
    expect(Math.max(...off)).toBeLessThan(4 / Math.sqrt(212));
    tf.dispose([...Object.values(w), ...Object.values(m)]);
    p.dispose();
  });
});

describe('seeds, mean, consistency', () => {
  it('same seed → same samples; successive draws and other seeds differ; sample: false → h(z)', () => {
    const draw = (seed: number) => {
      const p = new PerturbedHyperNet({ inner: inner(2), sigma: 0.2, learnSigma: true, rng: seed });
      const a = tf.tidy(() => Array.from(flatOf(p.generate({ id: [0, 2] }), [2]).dataSync()));
      const b = tf.tidy(() => Array.from(flatOf(p.generate({ id: [0, 2] }), [2]).dataSync()));
      const fromRng = tf.tidy(() =>
        Array.from(flatOf(p.generate({ id: [0, 2] }, { rng: new Rng(seed) }), [2]).dataSync()),
      );
      const mean = tf.tidy(() => Array.from(flatOf(p.generate({ id: [0, 2] }, { sample: false }), [2]).dataSync()));
      const innerMean = tf.tidy(() => Array.from(flatOf(p.inner.generate({ id: [0, 2] }), [2]).dataSync()));
      p.dispose();
      return { a, b, fromRng, mean, innerMean };
    };
    const x = draw(7);
    const y = draw(7);
    expect(x.a).toEqual(y.a);
    expect(x.b).toEqual(y.b);
    expect(x.a).not.toEqual(x.b);
    expect(x.fromRng).toEqual(x.a); // a passed Rng with the net's seed replays its first draw
    expect(draw(8).a).not.toEqual(x.a);
    expect(x.mean).toEqual(x.innerMean);
  });

  it('generate and forward draw the same sample from the same Rng state', () => {
    const p = new PerturbedHyperNet({
      inner: new LowRankHyperNet({ target, conditionSize: 2, hiddenSizes: [8], rank: 2, seed: 1 }),
      sigma: 0.1,
      learnSigma: true,
    });
    const cond = tf.tensor2d([0.1, 0.2, 0.7, 0.4, 0.3, 0.9], [3, 2]);
    const g = p.generate({ input: cond }, { rng: new Rng(4) });
    const f = p.forward(cond, p.ownWeights(), { rng: new Rng(4) });
    expect(f.shape).toEqual([3, 212]);
    const gf = flatOf(g, [3]);
    expect(maxAbs(gf, f)).toBeLessThan(1e-6);
    tf.dispose([cond, f, gf, ...Object.values(g)]);
    p.dispose();
  });
});

describe('gradients and per-sample passes', () => {
  const x = () =>
    tf.tensor2d(
      Array.from({ length: 24 }, (_, i) => Math.sin(i)),
      [3, 8],
    );
  const y = () =>
    tf.tensor2d(
      Array.from({ length: 12 }, (_, i) => Math.cos(i) * 0.5),
      [3, 4],
    );

  it('gradients vs finite differences on every variable, log σ included (fixed ε)', async ({ annotate }) => {
    const p = new PerturbedHyperNet({
      inner: new HyperMLP({ target, numConditions: 3, hiddenSizes: [5], activation: 'tanh', init: 'default', seed: 3 }),
      sigma: 0.3,
      learnSigma: true,
    });
    const loss = () =>
      tf.tidy(() => mse(target.forward(x(), p.generate({ id: [0, 1, 2] }, { rng: new Rng(5) })), y()) as tf.Scalar);
    const worst = checkGradients(p, loss);
    // the log σ gradients are not trivially zero
    const { grads, value } = tf.variableGrads(loss, p.trainableVariables().slice(-4));
    const gs = Object.values(grads).map((g) => Math.abs(g.dataSync()[0]!));
    await annotate(
      `PerturbedHyperNet worst relative FD error ${worst.toExponential(2)}; |dL/dlogσ| = ${gs.map((g) => g.toExponential(2)).join(', ')}`,
    );
    expect(Math.min(...gs)).toBeGreaterThan(1e-4);
    tf.dispose([value, ...Object.values(grads)]);
    p.dispose();
  });

  it('B conditions → B sampled weight sets → one batched target pass equals B separate passes', () => {
    const p = new PerturbedHyperNet({ inner: inner(), sigma: 0.2, rng: 9 });
    const ids = [2, 0, 1, 1];
    const xs = tf.randomNormal([4, 8], 0, 1, 'float32', 3);
    const w = p.generate({ id: ids });
    expect(w['fc1.weight']!.shape).toEqual([4, 8, 16]);
    const yb = target.forward(xs, w);
    for (let i = 0; i < 4; i++) {
      const wi: Weights = {};
      for (const s of target.params) wi[s.name] = tf.squeeze(tf.slice(w[s.name]!, [i], [1]), [0]);
      const yi = target.forward(tf.slice(xs, [i], [1]), wi);
      expect(maxAbs(yi, tf.slice(yb, [i], [1]))).toBeLessThan(1e-5);
      tf.dispose([yi, ...Object.values(wi)]);
    }
    tf.dispose([xs, yb, ...Object.values(w)]);
    p.dispose();
  });

  it('as a TargetNet: an outer net generates mean net and log σ per sample; noise row i is σ_i·ε_i', () => {
    const p = new PerturbedHyperNet({ inner: inner(), sigma: 0.1, learnSigma: true });
    const outer = new HyperMLP({ target: p, numConditions: 2, hiddenSizes: [8], seed: 4 });
    const wp = outer.generate({ id: [0, 1, 1] });
    expect(wp['logSigma.fc1.weight']!.shape).toEqual([3, 1]);
    const ids = tf.tensor1d([2, 0, 1], 'int32');
    const noisy = p.forward(ids, wp, { rng: new Rng(6) });
    const mean = p.forward(ids, wp, { sample: false });
    const want = tf.tidy(() => {
      const eps = new Rng(6).normal([3, 212]);
      const sig = tf.concat(
        target.params.map((s) =>
          tf.broadcastTo(tf.exp(wp[`logSigma.${s.name}`]!), [3, s.shape.reduce((a, b) => a * b, 1)]),
        ),
        1,
      );
      return tf.mul(sig, eps);
    });
    expect(maxAbs(tf.sub(noisy, mean), want)).toBeLessThan(1e-5);
    tf.dispose([ids, noisy, mean, want, ...Object.values(wp)]);
    outer.dispose();
    p.dispose();
  });
});

describe('memory and errors', () => {
  it('no tensor leaks across training steps (learned and fixed σ)', async () => {
    for (const learnSigma of [true, false]) {
      const p = new PerturbedHyperNet({ inner: inner(), sigma: 0.05, learnSigma });
      const opt = tf.train.adam(1e-3);
      const rng = new Rng(1);
      await assertNoLeaks(
        () => {
          const xs = rng.normal([6, 8]);
          const ys = rng.normal([6, 4]);
          const c = opt.minimize(
            () => mse(target.forward(xs, p.generate({ id: [0, 1, 2, 0, 1, 2] })), ys),
            true,
            p.trainableVariables(),
          );
          tf.dispose([xs, ys]);
          return c!;
        },
        { steps: 3, warmup: 1, label: p.name },
      );
      opt.dispose();
      p.dispose();
    }
  });

  it('bad config → ConfigError naming the field', () => {
    const field = configErrorField;
    const h = inner();
    expect(field(() => new PerturbedHyperNet({ inner: h, sigma: -0.1 }))).toBe('sigma');
    expect(field(() => new PerturbedHyperNet({ inner: h, sigma: Number.NaN }))).toBe('sigma');
    expect(field(() => new PerturbedHyperNet({ inner: h, sigma: 0, learnSigma: true }))).toBe('sigma');
    expect(field(() => new PerturbedHyperNet({ inner: h, sigma: 0.1, rng: 1.5 }))).toBe('rng');
    expect(field(() => new PerturbedHyperNet({ inner: undefined as never, sigma: 0.1 }))).toBe('inner');
    const p = new PerturbedHyperNet({ inner: h, sigma: 0 }); // σ = 0 fixed: the mean
    const a = p.generate({ id: 1 });
    const b = p.generate({ id: 1 }, { sample: false });
    expect(maxAbs(a['fc1.weight']!, b['fc1.weight']!)).toBe(0);
    tf.dispose([...Object.values(a), ...Object.values(b)]);
    p.dispose();
  });
});
