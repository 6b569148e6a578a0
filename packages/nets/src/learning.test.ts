import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, assertNoLeaks, initBackend, mse } from '@hypernets/core';
import { HyperMLP } from './hmlp.js';
import { ChunkedHyperMLP } from './chunked.js';
import { PerturbedHyperNet } from './perturb.js';
import type { MLPHyperNetBase } from './base.js';
import { batch, target, train } from './testing/sine-task.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('sine regression conditioned on amplitude and phase', () => {
  const cases: [string, () => MLPHyperNetBase, number][] = [
    ['HyperMLP', () => new HyperMLP({ target, conditionSize: 2, hiddenSizes: [32, 32], seed: 1 }), 0.1],
    [
      'HyperMLP + MIP',
      () => new HyperMLP({ target, conditionSize: 2, hiddenSizes: [32, 32], mip: true, seed: 1 }),
      0.1,
    ],
  ];
  for (const [label, make, bound] of cases)
    it(`${label} reaches test MSE < ${bound} in 120 steps`, async ({ annotate }) => {
      const h = make();
      const { final } = await train(h, 120);
      await annotate(`${label}: test MSE ${final.toFixed(4)} after 120 steps (baseline 0.875)`);
      expect(final).toBeLessThan(bound);
      h.dispose();
    });

  it('PerturbedHyperNet (learned σ around a HyperMLP + MIP) learns under its own weight noise: test MSE of the mean < 0.1', async ({
    annotate,
  }) => {
    const inner = new HyperMLP({ target, conditionSize: 2, hiddenSizes: [32, 32], mip: true, seed: 1 });
    const h = new PerturbedHyperNet({ inner, sigma: 0.01, learnSigma: true, rng: 3 });
    await train(h, 120); // trains on sampled weights w = h(z) + σ·ε
    const { final } = await train(
      { generate: (c) => h.generate(c, { sample: false }), trainableVariables: () => [] },
      0,
    );
    await annotate(`PerturbedHyperNet: test MSE of h(z) ${final.toFixed(4)} after 120 noisy steps (baseline 0.875)`);
    expect(final).toBeLessThan(0.1);
    h.dispose();
  });

  it('MIP starts at θ₀ (the target init): generated weights ≈ θ₀ for any γ', async ({ annotate }) => {
    const h = new HyperMLP({ target, conditionSize: 2, hiddenSizes: [32, 32], mip: true, seed: 2 });
    const w = h.generate({ input: tf.tensor2d([0, 0, 1, 1, 0.3, 0.7], [3, 2]) });
    const theta0 = h.ownWeights().theta0!;
    const dev = tf.tidy(() => {
      const flat = tf.concat(
        target.params.map((s) => tf.reshape(w[s.name]!, [3, -1])),
        1,
      );
      return tf.sqrt(tf.mean(tf.square(tf.sub(flat, theta0)))).dataSync()[0]!;
    });
    const scale = tf.tidy(() => tf.sqrt(tf.mean(tf.square(theta0))).dataSync()[0]!);
    await annotate(`MIP init: rms(θ − θ₀) / rms(θ₀) = ${(dev / scale).toFixed(3)}`);
    expect(dev / scale).toBeLessThan(0.2);
    tf.dispose(Object.values(w));
    h.dispose();
  });

  it('no tensor leaks across training steps', async () => {
    for (const h of [
      new HyperMLP({ target, conditionSize: 2, hiddenSizes: [8], mip: true }),
      new ChunkedHyperMLP({
        target,
        numConditions: 3,
        hiddenSizes: [8],
        chunkSize: 40,
        chunkEmbeddingsPerCondition: true,
      }),
    ]) {
      const opt = tf.train.adam(1e-3);
      const rng = new Rng(1);
      await assertNoLeaks(
        () => {
          const b = batch(rng, 3, 4);
          const ids = tf.tensor1d([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2], 'int32');
          const cond = h.mode === 'id' ? { id: ids } : { input: b.cond };
          const c = opt.minimize(() => mse(target.forward(b.x, h.generate(cond)), b.y), true, h.trainableVariables());
          tf.dispose([b.cond, b.x, b.y, ids]);
          return c!;
        },
        { steps: 3, warmup: 1, label: h.name },
      );
      opt.dispose();
      h.dispose();
    }
  });
});
