/**
 * ContinualTrainer on WebGPU (Dawn in Node; SwiftShader in CI): a few steps of HNET (CL1, and
 * CL3 with entropy task inference), online EWC and SI on a tiny synthetic Split stream, compared
 * with the same runs on `cpu` (learning curve and accuracy matrix). Skipped without a WebGPU
 * adapter, except under CI=true (see core's webgpu.test.ts).
 */
import { expect, it } from 'vitest';
import { webgpuSuite } from '@hypernets/vitest-preset/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { BackendUnavailableError, MLP, Rng, initBackend, shutdownBackend } from '@hypernets/core';
import { SplitMnist, type ImageSet } from '@hypernets/data';
import { HyperMLP } from '@hypernets/nets';
import { EwcMethod, HnetMethod, SiMethod } from './methods/index.js';
import { headLayout, type Scenario } from './scenario.js';
import { ContinualTrainer, type ContinualResult } from './trainer.js';
import type { ContinualMethod } from './method.js';

const { describeWebgpu } = await webgpuSuite('continual webgpu.test', () => initBackend('webgpu'), {
  unavailable: (e) => e instanceof BackendUnavailableError,
  release: shutdownBackend,
  env: () => tf.env(),
});

/** A 4×4 "MNIST" with 4 classes: a bright quadrant per class plus seeded noise. */
function imageSet(count: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * 16);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const c = i % 4;
    labels[i] = c;
    for (let p = 0; p < 16; p++) {
      const quadrant = (Math.floor(p / 8) << 1) | (p % 4 >= 2 ? 1 : 0);
      images[i * 16 + p] = Math.min(255, (quadrant === c ? 160 : 0) + rng.int(0, 90));
    }
  }
  return { images, labels, count, rows: 4, cols: 4, numClasses: 4 };
}
const stream = new SplitMnist(
  { train: imageSet(48, 1), test: imageSet(24, 2), source: 'synthetic' },
  { numTasks: 2, classesPerTask: 2 },
);

type Kind = 'hnet' | 'ewc' | 'si';

async function run(backend: string, kind: Kind, scenario: Scenario): Promise<ContinualResult> {
  expect(await tf.setBackend(backend)).toBe(true);
  const before = tf.memory().numTensors;
  const layout = headLayout(stream, scenario);
  const target = new MLP({ inputSize: 16, hiddenSizes: [8], outputSize: layout.outputs });
  let method: ContinualMethod;
  let hnet: HyperMLP | undefined;
  if (kind === 'hnet') {
    hnet = new HyperMLP({ target, numConditions: stream.numTasks, hiddenSizes: [12], seed: 3 });
    method = new HnetMethod({ hnet, target, layout, beta: 0.05, lr: 3e-3, seed: 4 });
  } else if (kind === 'ewc')
    method = new EwcMethod({ target, layout, seed: 5, lambda: 100, fisherN: 8, fisherBatch: 4 });
  else method = new SiMethod({ target, layout, seed: 6, c: 1 });
  const trainer = new ContinualTrainer({
    stream,
    method,
    iterations: 3,
    batchSize: 8,
    seed: 7,
    logEvery: 1,
    evalBatchSize: 16,
  });
  const result = await trainer.run();
  method.dispose();
  hnet?.dispose();
  expect(tf.memory().numTensors, `${backend} ${kind}: tensors left after the run`).toBe(before);
  return result;
}

describeWebgpu('ContinualTrainer on webgpu matches cpu', () => {
  const cases: [Kind, Scenario][] = [
    ['hnet', 'cl1'],
    ['hnet', 'cl3'],
    ['ewc', 'cl1'],
    ['si', 'cl1'],
  ];
  for (const [kind, scenario] of cases) {
    it(`${kind.toUpperCase()} ${scenario}: 2 tasks × 3 steps, learning curve and accuracy matrix`, async ({
      annotate,
    }) => {
      const gpu = await run('webgpu', kind, scenario);
      const cpu = await run('cpu', kind, scenario);
      expect(gpu.curve.length).toBe(2 * 3);
      let lossErr = 0;
      gpu.curve.forEach((p, i) => {
        const q = cpu.curve[i]!;
        expect([p.task, p.step]).toEqual([q.task, q.step]);
        lossErr = Math.max(lossErr, Math.abs(p.loss - q.loss) / Math.max(1, Math.abs(q.loss)));
        if (q.reg !== null) lossErr = Math.max(lossErr, Math.abs(p.reg! - q.reg) / Math.max(1, Math.abs(q.reg)));
      });
      let accErr = 0;
      gpu.accMatrix.forEach((row, i) =>
        row.forEach((a, j) => (accErr = Math.max(accErr, Math.abs((a ?? 0) - (cpu.accMatrix[i]![j] ?? 0))))),
      );
      await annotate(
        `[continual webgpu.test] ${kind} ${scenario}: ` +
          `loss ${cpu.curve[0]!.loss.toFixed(4)}→${cpu.curve.at(-1)!.loss.toFixed(4)}, avgAcc cpu ${cpu.avgAcc.toFixed(3)} ` +
          `webgpu ${gpu.avgAcc.toFixed(3)}; max |Δloss| ${lossErr.toExponential(1)}, max |Δacc| ${accErr.toFixed(3)}`,
      );
      expect(lossErr).toBeLessThan(2e-4);
      expect(accErr).toBeLessThanOrEqual(1 / 12 + 1e-9); // at most one of a task's 12 test samples flips
      if (scenario === 'cl3') expect(gpu.taskInferenceMatrix).not.toBeNull();
    });
  }
});
