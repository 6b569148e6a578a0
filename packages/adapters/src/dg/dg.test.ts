// DomainBed's protocol (DgTrainer) on small synthetic environments with a linear model, and ERM's
// network (cpu backend).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { DomainBedMnistCnn, Rng, initBackend, softmaxCrossEntropy } from '@hypernets/core';
import type { DgAlgorithm } from './algorithm.js';
import { createErm } from './erm.js';
import { DgTrainer, type DgEnvironment } from './trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'dg-'));
beforeAll(async () => {
  await initBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SHAPE = [4, 4, 1] as const;

/** Environment e: label = pixel 0 > 0.5; the other pixels are noise shifted by 0, 0.1, 0.05 (a style shift; the held-out one lies between). */
function environments(seed: number): DgEnvironment[] {
  const rng = new Rng(seed);
  return [0, 1, 2].map((e) => {
    const n = 60;
    const images = new Float32Array(n * 16);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 16; j++)
        images[i * 16 + j] = j === 0 ? rng.uniform() : 0.2 * rng.uniform() + [0, 0.1, 0.05][e]!;
      labels[i] = images[i * 16]! > 0.5 ? 1 : 0;
    }
    const perm = rng.permutation(n);
    return { name: `env${e}`, images, labels, out: perm.slice(0, 12), in: perm.slice(12) };
  });
}

function linearAlgorithm(seed: number): DgAlgorithm {
  const rng = new Rng(seed);
  const variables = tf.tidy(() => ({
    w: tf.variable(tf.tensor2d(rng.normalArray([16, 2], 0, 0.1), [16, 2]), true),
    b: tf.variable(tf.zeros([2]), true),
  }));
  const predict = (x: tf.Tensor4D) =>
    tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [-1, 16]), variables.w), variables.b)) as tf.Tensor2D;
  return {
    name: 'linear',
    variables,
    trainable: ['w', 'b'],
    predict,
    loss: (x, y) => tf.tidy(() => softmaxCrossEntropy(predict(x), tf.oneHot(y, 2))),
    dispose: () => tf.dispose(Object.values(variables)),
  };
}

const base = {
  inputShape: SHAPE,
  testEnv: 2,
  batchSize: 8,
  lr: 0.05,
  evalEvery: 5,
  evalBatch: 16,
  seed: 3,
  logEvery: 1,
};

describe('DgTrainer', () => {
  it('trains on the training environments, selects on their out splits, tests the held-out in split', async () => {
    const envs = environments(1);
    const alg = linearAlgorithm(2);
    const evals: number[] = [];
    const t = new DgTrainer({
      ...base,
      lr: 0.3,
      algorithm: alg,
      environments: envs,
      steps: 30,
      callbacks: { onEval: (e) => void evals.push(e.valAcc) },
    });
    const r = await t.run();
    expect(r.evals.map((e) => e.step)).toEqual([5, 10, 15, 20, 25, 30]);
    expect(r.valAcc).toBe(Math.max(...evals));
    expect(r.evals.find((e) => e.step === r.bestStep)!.valAcc).toBe(r.valAcc);
    expect(r.valAcc).toBeGreaterThan(0.75);
    // The test accuracy is the held-out environment's in split, with the best step's variables.
    const check = await t.accuracy(2, 'in');
    expect(check.acc).toBe(r.testAcc);
    expect(r.testAcc).toBeGreaterThan(0.6);
    expect(r.gateUsage).toBeNull();
    t.dispose();
    alg.dispose();
  });

  it('a resumed run ends with the numbers of one that never stopped', async () => {
    const envs = environments(4);
    const full = linearAlgorithm(5);
    const a = await new DgTrainer({ ...base, algorithm: full, environments: envs, steps: 12 }).run();
    const ck = join(dir, 'resume');
    const half = linearAlgorithm(5);
    // Killed at step 8: the checkpoint of step 6 is what is left.
    const killed = new DgTrainer({
      ...base,
      algorithm: half,
      environments: envs,
      steps: 12,
      checkpointDir: ck,
      checkpointEvery: 3,
      callbacks: {
        onStep: (e) => {
          if (e.step === 8) throw new Error('killed');
        },
      },
    });
    await expect(killed.run()).rejects.toThrow('killed');
    const again = linearAlgorithm(99); // other init: everything comes from the checkpoint
    const b = await new DgTrainer({ ...base, algorithm: again, environments: envs, steps: 12, checkpointDir: ck }).run({
      resume: true,
    });
    expect(b.evals).toEqual(a.evals);
    expect(b.testAcc).toBe(a.testAcc);
    expect(b.curve).toEqual(a.curve);
    expect(Array.from(again.variables.w!.dataSync())).toEqual(Array.from(full.variables.w!.dataSync()));
    [full, half, again].forEach((x) => x.dispose());
  });

  it('refuses a test environment that does not exist and bad splits', () => {
    const envs = environments(1);
    const alg = linearAlgorithm(1);
    expect(() => new DgTrainer({ ...base, algorithm: alg, environments: envs, steps: 1, testEnv: 3 })).toThrow(
      /testEnv/,
    );
    const bad = envs.map((e, i) => (i === 0 ? { ...e, out: Int32Array.from([60]) } : e));
    expect(() => new DgTrainer({ ...base, algorithm: alg, environments: bad, steps: 1 })).toThrow(
      /environments\[0\]\.out/,
    );
    expect(
      () => new DgTrainer({ ...base, algorithm: alg, environments: envs, steps: 1, inputShape: [28, 28, 1] }),
    ).toThrow(/environments\[0\]\.images/);
    alg.dispose();
  });
});

describe('ERM', () => {
  it("is DomainBed's MNIST_CNN + linear classifier, PyTorch's default init, mean cross-entropy", () => {
    const erm = createErm({ channels: 2, numClasses: 2, seed: 0 });
    const net = new DomainBedMnistCnn({ channels: 2, numClasses: 2 });
    expect(Object.keys(erm.variables)).toEqual(net.params.map((p) => p.name));
    const w = erm.variables['conv2.weight']!;
    const bound = 1 / Math.sqrt(3 * 3 * 64);
    expect(tf.max(tf.abs(w)).dataSync()[0]).toBeLessThanOrEqual(bound);
    expect(tf.max(tf.abs(w)).dataSync()[0]).toBeGreaterThan(0.9 * bound);
    const x = tf.randomUniform([2, 28, 28, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1], 'int32');
    const logits = erm.predict(x);
    const z = logits.arraySync() as number[][];
    const ce = z.map((r, i) => Math.log(Math.exp(r[0]!) + Math.exp(r[1]!)) - r[i]!).reduce((a, b) => a + b, 0) / 2;
    expect(erm.loss(x, y).dataSync()[0]).toBeCloseTo(ce, 5);
    tf.dispose([x, y, logits]);
    erm.dispose();
  });
});
