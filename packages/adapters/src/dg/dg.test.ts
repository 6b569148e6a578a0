// DomainBed's protocol (DgTrainer) on small synthetic environments with a linear model, and ERM's
// network (cpu backend).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { DomainBedMnistCnn, MLP, Rng, initBackend, softmaxCrossEntropy, type TargetNet } from '@hypernets/core';
import type { DgAlgorithm } from './algorithm.js';
import { createErm } from './erm.js';
import { createHmoe } from './hmoe.js';
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

  it("a mixture's gate usage per environment is the best step's, measured in the evaluation passes", async () => {
    const mlp = new MLP({ inputSize: 16, hiddenSizes: [6], outputSize: 5 });
    const featurizer: TargetNet = {
      ...mlp,
      params: mlp.params,
      inputShape: [...SHAPE],
      outputShape: [5],
      forward: (x, w) => mlp.forward(tf.reshape(x, [x.shape[0]!, -1]), w),
    };
    const hm = createHmoe({ channels: 1, numClasses: 2, experts: 3, seed: 7, featurizer });
    const t = new DgTrainer({ ...base, algorithm: hm, environments: environments(6), steps: 15 });
    const r = await t.run();
    expect(r.evals.every((e) => e.gates?.length === 2)).toBe(true);
    // After the run the best step's variables are back: measuring again gives the reported usage.
    const again = [await t.accuracy(0, 'out'), await t.accuracy(1, 'out'), await t.accuracy(2, 'in')];
    expect(again[2]!.acc).toBe(r.testAcc);
    again.forEach((a, i) => a.gate!.forEach((g, j) => expect(r.gateUsage![i]![j]).toBeCloseTo(g, 6)));
    for (const row of r.gateUsage!) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    t.dispose();
    hm.dispose();
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

describe('HMOE (reconstructed)', () => {
  it('gate = softmax(−‖z − e_i‖²/τ), prediction = log Σ α_i p_i, loss = NLL + entropy terms (hand computation)', () => {
    const hm = createHmoe({
      channels: 1,
      numClasses: 3,
      experts: 2,
      embeddingDim: 3,
      hyperHidden: 5,
      expertHidden: 4,
      temperature: 0.5,
      seed: 1,
    });
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.tensor1d([0, 2, 1], 'int32');
    const v = (n: string) => hm.variables[n]!;
    const feat = new DomainBedMnistCnn({ channels: 1 }).forward(x, hm.variables);
    const z = tf.add(tf.matMul(feat, v('gate.weight')), v('gate.bias')).arraySync() as number[][];
    const emb = v('experts.embedding').arraySync() as number[][];
    const alpha = z.map((r) => {
      const s = emb.map((ei) => -ei.reduce((a, q, j) => a + (r[j]! - q) ** 2, 0) / 0.5);
      const mx = Math.max(...s);
      const ex = s.map((q) => Math.exp(q - mx));
      const sum = ex.reduce((a, b) => a + b, 0);
      return ex.map((q) => q / sum);
    });
    const gate = hm.gate!(x).arraySync() as number[][];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) expect(gate[i]![j]).toBeCloseTo(alpha[i]![j]!, 5);
    // Expert i's classifier from θ_i = H(e_i), by hand.
    const f = feat.arraySync() as number[][];
    const mm = (a: number[][], b: number[][]) =>
      a.map((r) => b[0]!.map((_, j) => r.reduce((s, q, k) => s + q * b[k]![j]!, 0)));
    const h = mm(emb, v('hyper.fc1.weight').arraySync() as number[][]).map((r) =>
      r.map((q, j) => Math.max(0, q + (v('hyper.fc1.bias').arraySync() as number[])[j]!)),
    );
    const theta = mm(h, v('hyper.fc2.weight').arraySync() as number[][]).map((r) =>
      r.map((q, j) => q + (v('hyper.fc2.bias').arraySync() as number[])[j]!),
    );
    const probs = f.map((fi, n) => {
      const mix = [0, 0, 0];
      theta.forEach((t, ei) => {
        const w1 = Array.from({ length: 128 }, (_, a) => t.slice(a * 4, a * 4 + 4));
        const b1 = t.slice(512, 516);
        const w2 = Array.from({ length: 4 }, (_, a) => t.slice(516 + a * 3, 516 + a * 3 + 3));
        const b2 = t.slice(528, 531);
        const hid = mm([fi], w1)[0]!.map((q, j) => Math.max(0, q + b1[j]!));
        const lg = mm([hid], w2)[0]!.map((q, j) => q + b2[j]!);
        const mx = Math.max(...lg);
        const ex = lg.map((q) => Math.exp(q - mx));
        const s = ex.reduce((a, b) => a + b, 0);
        ex.forEach((q, j) => (mix[j]! += alpha[n]![ei]! * (q / s)));
      });
      return mix;
    });
    const pred = hm.predict(x).arraySync() as number[][];
    for (let n = 0; n < 3; n++) for (let j = 0; j < 3; j++) expect(pred[n]![j]).toBeCloseTo(Math.log(probs[n]![j]!), 4);
    const H = (p: number[]) => -p.reduce((a, q) => a + q * Math.log(q + 1e-12), 0);
    const nll = -[0, 2, 1].reduce((a, c, n) => a + Math.log(probs[n]![c]!), 0) / 3;
    const meanAlpha = [0, 1].map((j) => alpha.reduce((a, r) => a + r[j]!, 0) / 3);
    const want = nll + 0.1 * (alpha.reduce((a, r) => a + H(r), 0) / 3) - 0.1 * H(meanAlpha);
    expect(hm.loss(x, y).dataSync()[0]).toBeCloseTo(want, 4);
    // One pass for evaluation: the same logits and gate as the two calls.
    const both = hm.predictWithGate!(x);
    const bl = both.logits.arraySync() as number[][];
    const bg = both.gate.arraySync() as number[][];
    for (let n = 0; n < 3; n++) for (let j = 0; j < 3; j++) expect(bl[n]![j]).toBeCloseTo(pred[n]![j]!, 5);
    for (let n = 0; n < 3; n++) for (let j = 0; j < 2; j++) expect(bg[n]![j]).toBeCloseTo(gate[n]![j]!, 6);
    tf.dispose([x, y, feat, both.logits, both.gate]);
    hm.dispose();
  });

  it('every variable gets a gradient (the hypernetwork, the embeddings, the gate, the featurizer)', () => {
    // A small featurizer keeps the backward cheap on cpu (MNIST_CNN's is exercised above).
    const featurizer = new MLP({ inputSize: 28 * 28 * 2, hiddenSizes: [6], outputSize: 5 });
    const flat: TargetNet = {
      ...featurizer,
      params: featurizer.params,
      inputShape: [28, 28, 2],
      outputShape: [5],
      forward: (x, w) => featurizer.forward(tf.reshape(x, [x.shape[0]!, -1]), w),
    };
    const hm = createHmoe({ channels: 2, numClasses: 2, experts: 3, seed: 4, featurizer: flat });
    const x = tf.randomUniform([2, 28, 28, 2], 0, 1, 'float32', 5) as tf.Tensor4D;
    const y = tf.tensor1d([1, 0], 'int32');
    const vars = hm.trainable.map((n) => hm.variables[n]!);
    const { value, grads } = tf.variableGrads(() => hm.loss(x, y), vars);
    for (const n of hm.trainable)
      expect(tf.sum(tf.abs(grads[hm.variables[n]!.name]!)).dataSync()[0], n).toBeGreaterThan(0);
    tf.dispose([x, y, value, ...Object.values(grads)]);
    hm.dispose();
    expect(() => createHmoe({ channels: 1, numClasses: 2, temperature: 0 })).toThrow(/temperature/);
  });
});
