/**
 * @hypernets/rl on WebGPU (Dawn in Node; SwiftShader in CI): PPO on CartPole and Pendulum, HyperPPO
 * on CartPole and HyperZero on Pendulum contexts train an iteration or two, and the same runs on `cpu`
 * give the same curves (losses per iteration or epoch), episodes and zero-shot returns. Skipped
 * without a WebGPU adapter, except under CI=true (see core's webgpu.test.ts).
 */
import { expect, it } from 'vitest';
import { webgpuSuite } from '@hypernets/vitest-preset/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { BackendUnavailableError, initBackend, shutdownBackend } from '@hypernets/core';
import { makeEnv } from './envs/registry.js';
import type { Box } from './envs/spaces.js';
import type { Env } from './envs/env.js';
import { HyperPpoTrainer } from './hyperppo/trainer.js';
import { Td3Teacher } from './hyperzero/teacher.js';
import { buildDataset } from './hyperzero/dataset.js';
import { HyperZero } from './hyperzero/model.js';
import { HyperZeroTrainer } from './hyperzero/trainer.js';
import type { PpoTrainerOptions } from './ppo/options.js';
import { PpoTrainer } from './ppo/trainer.js';

const { describeWebgpu } = await webgpuSuite('rl webgpu.test', () => initBackend('webgpu'), {
  unavailable: (e) => e instanceof BackendUnavailableError,
  release: shutdownBackend,
  env: () => tf.env(),
});

const use = async (backend: string) => expect(await tf.setBackend(backend)).toBe(true);

/** The largest |a − b| / max(1, |b|) over paired numbers. */
function relErr(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!) / Math.max(1, Math.abs(b[i]!))), 0);
}

async function ppo(backend: string, options: PpoTrainerOptions, hyper = false) {
  await use(backend);
  const before = tf.memory().numTensors;
  const t = hyper ? new HyperPpoTrainer({ ...options, metaBatchSize: 2 }) : new PpoTrainer(options);
  const r = await t.run();
  const ev = await t.evaluate(1, { maxSteps: 10 });
  t.dispose();
  expect(tf.memory().numTensors, `${backend}: tensors left after the run`).toBe(before);
  return { r, ev };
}

describeWebgpu('@hypernets/rl on webgpu matches cpu', () => {
  const tiny = { numMinibatches: 2, updateEpochs: 1 };
  const cases: [string, PpoTrainerOptions, boolean][] = [
    ['PPO CartPole-v1', { env: 'CartPole-v1', totalTimesteps: 64, numEnvs: 2, numSteps: 16, seed: 1, ...tiny }, false],
    [
      'PPO Pendulum-v1 (normalised, Gaussian)',
      { env: 'Pendulum-v1', totalTimesteps: 64, numEnvs: 2, numSteps: 16, seed: 2, ...tiny },
      false,
    ],
    // one iteration: its update backpropagates through the GHN, ~30 s on SwiftShader
    [
      'HyperPPO CartPole-v1 (2 architectures per iteration)',
      { env: 'CartPole-v1', totalTimesteps: 32, numEnvs: 4, numSteps: 8, seed: 3, ...tiny },
      true,
    ],
  ];
  for (const [name, options, hyper] of cases)
    it(`${name}: the same losses, episodes and evaluation`, { timeout: 120_000 }, async ({ annotate }) => {
      const gpu = await ppo('webgpu', options, hyper);
      const cpu = await ppo('cpu', options, hyper);
      expect(gpu.r.curve.map((e) => e.iteration)).toEqual(hyper ? [1] : [1, 2]);
      const terms = (r: typeof gpu.r) => r.curve.flatMap((e) => [e.pgLoss, e.vLoss, e.entropy, e.approxKl]);
      const lossErr = relErr(terms(gpu.r), terms(cpu.r));
      // the same actions were sampled (host sampling from read-back outputs): the same episodes
      expect(gpu.r.episodes.map((e) => [e.step, e.length])).toEqual(cpu.r.episodes.map((e) => [e.step, e.length]));
      const evalErr = relErr(gpu.ev.returns, cpu.ev.returns);
      await annotate(
        `[rl webgpu.test] ${name}: vLoss cpu ${cpu.r.curve.at(-1)!.vLoss.toFixed(4)} webgpu ${gpu.r.curve.at(-1)!.vLoss.toFixed(4)}; ` +
          `max rel |Δ| losses ${lossErr.toExponential(1)}, evaluation ${evalErr.toExponential(1)}`,
      );
      expect(lossErr).toBeLessThan(1e-3);
      expect(evalErr).toBeLessThan(1e-3);
    });

  it(
    'HyperZero on Pendulum contexts: 2 epochs, the same losses and zero-shot returns',
    { timeout: 120_000 },
    async ({ annotate }) => {
      const contexts = [
        [0.8, 1.0],
        [1.2, 1.0],
      ];
      const pendulum = ([l, m]: readonly number[]) => makeEnv('Pendulum-v1', { l, m }) as Env<Box>;
      // the teachers' data once, on cpu (TD3 itself is checked against cpu in its own test)
      await use('cpu');
      const parts = [];
      for (const context of contexts) {
        const t = new Td3Teacher({ makeEnv: () => pendulum(context), totalSteps: 300, warmupSteps: 200, seed: 1 });
        await t.train();
        parts.push({ context, rollout: await t.rollout(1, 100) });
        t.dispose();
      }
      const data = buildDataset(parts, 0.98);
      const run = async (backend: string) => {
        await use(backend);
        const before = tf.memory().numTensors;
        const model = new HyperZero({
          contextSize: 2,
          observationSize: 3,
          actionSize: 1,
          embedSize: 32,
          hiddenSize: 16,
          seed: 5,
        });
        const t = new HyperZeroTrainer({
          model,
          data,
          epochs: 2,
          batchSize: 200,
          learningRate: 1e-3,
          seed: 6,
          makeEnv: pendulum,
        });
        const r = await t.run();
        const ev = await t.evaluateZeroShot([[1.0, 1.0]], 1, { maxSteps: 10 });
        t.dispose();
        model.dispose();
        expect(tf.memory().numTensors, `${backend}: tensors left`).toBe(before);
        return { r, ev };
      };
      const gpu = await run('webgpu');
      const cpu = await run('cpu');
      const terms = (r: typeof gpu.r) => r.curve.flatMap((e) => [e.train.action, e.train.value!, e.train.td!]);
      const lossErr = relErr(terms(gpu.r), terms(cpu.r));
      const evalErr = relErr(gpu.ev[0]!.returns, cpu.ev[0]!.returns);
      await annotate(
        `[rl webgpu.test] HyperZero: action loss cpu ${cpu.r.curve.at(-1)!.train.action.toFixed(5)} webgpu ` +
          `${gpu.r.curve.at(-1)!.train.action.toFixed(5)}; max rel |Δ| losses ${lossErr.toExponential(1)}, zero-shot ${evalErr.toExponential(1)}`,
      );
      expect(lossErr).toBeLessThan(1e-3);
      expect(evalErr).toBeLessThan(1e-3);
    },
  );
});
