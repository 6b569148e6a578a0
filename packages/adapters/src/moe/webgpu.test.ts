/**
 * The mixture-of-experts LM and the HMOE mixture on WebGPU (Dawn in Node; SwiftShader in CI): a
 * few training steps of MoeLmTrainer (there, each step records its top-k routes with
 * `await data()` and replays them under the tape: WebGPU cannot read synchronously) and of
 * DgTrainer with HMOE, compared with the same runs on `cpu` (which read the routes inline).
 * Skipped without a WebGPU adapter, except under CI=true (see core's webgpu.test.ts).
 */
import { expect, it } from 'vitest';
import { webgpuSuite } from '@hypernets/vitest-preset/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { BackendUnavailableError, MLP, Rng, initBackend, shutdownBackend, type TargetNet } from '@hypernets/core';
import { MoeLanguageModel } from './lm.js';
import { MoeLmTrainer, type MoeLmTrainResult } from './trainer.js';
import { createHmoe } from '../dg/hmoe.js';
import { DgTrainer, type DgEnvironment, type DgTrainResult } from '../dg/trainer.js';

const { describeWebgpu } = await webgpuSuite('adapters moe webgpu.test', () => initBackend('webgpu'), {
  unavailable: (e) => e instanceof BackendUnavailableError,
  release: shutdownBackend,
  env: () => tf.env(),
});

const rng = new Rng(5);
const make = (n: number) =>
  Uint8Array.from({ length: n }, (_, i) => (rng.uniform() < 0.1 ? rng.int(0, 26) : (i * 7) % 27));
const corpus = { train: make(2000), valid: make(300), test: make(300) };

async function lm(backend: string, router: 'hyperrouter' | 'smoe-dropout'): Promise<MoeLmTrainResult> {
  expect(await tf.setBackend(backend)).toBe(true);
  const before = tf.memory().numTensors;
  const model = new MoeLanguageModel({
    router,
    dModel: 8,
    numHeads: 2,
    numBlocks: 2,
    seqLength: 12,
    experts: 4,
    expertHidden: 6,
    hyperSize: 5,
    seed: 1,
  });
  const t = new MoeLmTrainer({
    model,
    corpus,
    steps: 4,
    batchSize: 3,
    lr: 1e-2,
    evalEvery: 2,
    evalSymbols: 120,
    testSymbols: 120,
    testK: [1, 4],
    seed: 2,
    logEvery: 1,
  });
  const r = await t.run();
  t.dispose();
  model.dispose();
  expect(tf.memory().numTensors, `${backend} ${router}: tensors left`).toBe(before);
  return r;
}

function environments(): DgEnvironment[] {
  const r = new Rng(3);
  return [0, 1, 2].map((e) => {
    const n = 24;
    const images = new Float32Array(n * 28 * 28);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      for (let p = 0; p < 28 * 28; p++)
        images[i * 784 + p] = p % 28 < 14 === (labels[i] === 1) ? 0.5 + 0.1 * e : r.uniform() * 0.3;
    }
    return {
      name: `env${e}`,
      images,
      labels,
      in: Int32Array.from({ length: 18 }, (_, i) => i),
      out: Int32Array.from({ length: 6 }, (_, i) => 18 + i),
    };
  });
}

async function hmoe(backend: string): Promise<DgTrainResult> {
  expect(await tf.setBackend(backend)).toBe(true);
  const before = tf.memory().numTensors;
  const mlp = new MLP({ inputSize: 784, hiddenSizes: [8], outputSize: 6 });
  const featurizer: TargetNet = {
    ...mlp,
    params: mlp.params,
    inputShape: [28, 28, 1],
    outputShape: [6],
    forward: (x, w) => mlp.forward(tf.reshape(x, [x.shape[0]!, -1]), w),
  };
  const alg = createHmoe({ channels: 1, numClasses: 2, experts: 2, featurizer, seed: 4 });
  const t = new DgTrainer({
    algorithm: alg,
    environments: environments(),
    inputShape: [28, 28, 1],
    testEnv: 2,
    steps: 4,
    batchSize: 4,
    lr: 1e-2,
    evalEvery: 2,
    evalBatch: 8,
    seed: 5,
    logEvery: 1,
  });
  const r = await t.run();
  t.dispose();
  alg.dispose();
  expect(tf.memory().numTensors, `${backend} hmoe: tensors left`).toBe(before);
  return r;
}

describeWebgpu('mixtures of experts on webgpu match cpu', () => {
  for (const router of ['hyperrouter'] as const)
    it(`MoeLmTrainer, ${router}: the same curve, validation and test BPC`, async () => {
      const cpu = await lm('cpu', router);
      const gpu = await lm('webgpu', router);
      gpu.curve.forEach((c, i) => expect(c.loss).toBeCloseTo(cpu.curve[i]!.loss, 3));
      gpu.evals.forEach((e, i) => expect(e.bpc).toBeCloseTo(cpu.evals[i]!.bpc, 3));
      for (const k of ['1', '4']) expect(gpu.bpc[k]!).toBeCloseTo(cpu.bpc[k]!, 3);
    });

  it('DgTrainer with HMOE: the same curve, validation, test accuracy and gate usage', async () => {
    const cpu = await hmoe('cpu');
    const gpu = await hmoe('webgpu');
    gpu.curve.forEach((c, i) => expect(c.loss).toBeCloseTo(cpu.curve[i]!.loss, 3));
    expect(gpu.testAcc).toBe(cpu.testAcc);
    gpu.gateUsage!.forEach((u, e) => u.forEach((v, j) => expect(v).toBeCloseTo(cpu.gateUsage![e]![j]!, 3)));
  });
});
