import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, initBackend } from '@hypernets/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../testing/temp-dirs.js';
import type { PpoTrainerOptions } from './options.js';
import { PpoTrainer } from './trainer.js';

const tempDir = tempDirs('hypernets-ppo-');

beforeAll(async () => {
  await initBackend('cpu');
});

/** Small runs: 4 iterations of 2 envs × 32 steps, 2 epochs of 4 minibatches. */
const small = (env: string, extra: Partial<PpoTrainerOptions> = {}): PpoTrainerOptions => ({
  env,
  totalTimesteps: 256,
  numEnvs: 2,
  numSteps: 32,
  numMinibatches: 4,
  updateEpochs: 2,
  seed: 3,
  ...extra,
});

async function train(options: PpoTrainerOptions, resume = false) {
  const t = new PpoTrainer(options);
  try {
    const r = await t.run({ resume });
    const weights = Array.from(await t.policy.variables['actor.fc1.weight']!.data());
    return { ...r, weights, obsStats: t.mergedObsStats()?.getState() ?? null };
  } finally {
    t.dispose();
  }
}

describe('PpoTrainer options', () => {
  it('takes CleanRL’s defaults per family and refuses bad options by name', () => {
    const cart = new PpoTrainer({ env: 'CartPole-v1', totalTimesteps: 1024 });
    expect(cart.config).toMatchObject({
      preset: 'classic',
      numEnvs: 4,
      numSteps: 128,
      learningRate: 2.5e-4,
      numMinibatches: 4,
      updateEpochs: 4,
      entCoef: 0.01,
      normalize: false,
      gamma: 0.99,
      gaeLambda: 0.95,
      clipCoef: 0.2,
      vfCoef: 0.5,
      maxGradNorm: 0.5,
      adamEps: 1e-5,
      iterations: 2,
    });
    cart.dispose();
    const pend = new PpoTrainer({ env: 'Pendulum-v1', totalTimesteps: 2048 });
    expect(pend.config).toMatchObject({
      preset: 'continuous',
      numEnvs: 1,
      numSteps: 2048,
      learningRate: 3e-4,
      numMinibatches: 32,
      updateEpochs: 10,
      entCoef: 0,
      normalize: true,
      minibatchSize: 64,
    });
    pend.dispose();
    expect(() => new PpoTrainer({ env: 'CartPole-v1', totalTimesteps: 1024, numMinibatches: 3 })).toThrow(
      /numMinibatches.*must divide the batch numEnvs × numSteps = 512/,
    );
    expect(() => new PpoTrainer({ env: 'CartPole-v1', totalTimesteps: 100 })).toThrow(ConfigError);
    expect(() => new PpoTrainer({ env: 'CartPole-v1', totalTimesteps: 1024, lr: 1 } as never)).toThrow(/lr/);
    expect(() => new PpoTrainer({ env: 'Nope-v0', totalTimesteps: 1024 })).toThrow(/unknown environment id/);
  });
});

describe('PpoTrainer runs', () => {
  it('is deterministic per seed, keeps no tensors, and evaluates with frozen statistics', async () => {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const a = await train(
      small('Pendulum-v1', {
        callbacks: { onIteration: () => void counts.push(tf.memory().numTensors) },
      }),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(counts).size).toBe(1); // no growth from iteration to iteration
    const b = await train(small('Pendulum-v1'));
    expect(b.curve).toEqual(a.curve);
    expect(b.weights).toEqual(a.weights);
    const c = await train(small('Pendulum-v1', { seed: 4 }));
    expect(c.weights).not.toEqual(a.weights);
    expect(a.curve).toHaveLength(4);
    expect(a.globalStep).toBe(256);
    for (const e of a.curve) {
      expect(e.updates).toBe(8);
      expect(Number.isFinite(e.pgLoss) && Number.isFinite(e.vLoss) && Number.isFinite(e.approxKl)).toBe(true);
    }

    const t = new PpoTrainer(small('Pendulum-v1', { totalTimesteps: 64 }));
    await t.run();
    const stats = t.mergedObsStats()!.getState();
    const e1 = await t.evaluate(2, { seed: 5, maxSteps: 20 });
    const e2 = await t.evaluate(2, { seed: 5, maxSteps: 20 });
    expect(e1).toEqual(e2);
    expect(e1.lengths).toEqual([20, 20]);
    expect(t.mergedObsStats()!.getState()).toEqual(stats);
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([
    ['CartPole-v1', {}],
    // Box actions, normalisation statistics in the checkpoint, truncations bootstrapped
    ['Pendulum-v1', { envOptions: { maxEpisodeSteps: 40 }, bootstrapTruncated: true }],
  ] as const)(
    '%s: a run resumed from a checkpoint ends with the numbers of one that never stopped',
    async (env, extra) => {
      const options = (dir: string) => small(env, { ...extra, checkpointDir: dir, checkpointEvery: 2 });
      const whole = await train(options(tempDir()));
      const dir = tempDir();
      const stop = new Error('stopped after the first checkpoint');
      await expect(
        train({
          ...options(dir),
          callbacks: {
            onCheckpoint: () => {
              throw stop;
            },
          },
        }),
      ).rejects.toBe(stop);
      const resumed: number[] = [];
      const rest = await train(
        { ...options(dir), callbacks: { onResume: (e) => void resumed.push(e.iteration) } },
        true,
      );
      expect(resumed).toEqual([2]);
      expect(rest.curve).toEqual(whole.curve);
      expect(rest.episodes).toEqual(whole.episodes);
      expect(rest.weights).toEqual(whole.weights);
      expect(rest.obsStats).toEqual(whole.obsStats);
      expect(whole.episodes.length).toBeGreaterThan(0);
      // a changed configuration is refused before anything is restored
      await expect(train({ ...options(dir), gamma: 0.9 }, true)).rejects.toSatisfy(CheckpointError.isInstance);
    },
  );
});

describe('PpoTrainer learns', () => {
  // CleanRL's classic preset (4 envs × 128 steps, 4 epochs of 4 minibatches) with a learning rate
  // of 1e-3 instead of 2.5e-4, so that 16k steps suffice. ~12 s on an idle 2-core machine.
  it('CartPole-v1 to a mean deterministic return ≥ 195 within 16,384 steps', async () => {
    const t = new PpoTrainer({ env: 'CartPole-v1', totalTimesteps: 16_384, learningRate: 1e-3, seed: 1 });
    const t0 = performance.now();
    const r = await t.run();
    const ev = await t.evaluate(10);
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `CartPole PPO: ${r.globalStep} steps in ${seconds.toFixed(1)} s (${r.stepsPerSecond.toFixed(0)} steps/s); ` +
        `training return (last 100 episodes) ${r.meanReturn?.toFixed(1)}, evaluation ${ev.meanReturn.toFixed(1)}`,
    );
    expect(ev.meanReturn).toBeGreaterThanOrEqual(195);
    t.dispose();
  }, 120_000);
});
