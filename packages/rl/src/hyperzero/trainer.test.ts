import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, Rng, initBackend } from '@hypernets/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../testing/temp-dirs.js';
import { makeEnv } from '../envs/registry.js';
import { contextGrid, splitContexts, type ZeroShotDataset } from './dataset.js';
import { episodeSeed, evaluateZeroShot } from './evaluate.js';
import { ContextMlp, HyperZero, disposePrepared, type ZeroShotModel } from './model.js';
import { HyperZeroTrainer, type HyperZeroTrainerOptions } from './trainer.js';

const tempDir = tempDirs('hypernets-hyperzero-');

beforeAll(async () => {
  await initBackend('cpu');
});

/** A synthetic dataset: 3 contexts of 2 values, 30 transitions each, a* a smooth function of (s, ψ). */
function synthetic(contexts: number[][], perContext = 30, seed = 0): ZeroShotDataset {
  const rng = new Rng(seed);
  const n = contexts.length * perContext;
  const d: ZeroShotDataset = {
    contexts,
    contextIndex: new Int32Array(n),
    states: rng.uniformArray([n, 3], -1, 1),
    actions: new Float32Array(n),
    rewards: rng.uniformArray([n], -2, 0),
    nextStates: rng.uniformArray([n, 3], -1, 1),
    discounts: new Float32Array(n).fill(0.9),
    values: rng.uniformArray([n], -10, 0),
    observationSize: 3,
    actionSize: 1,
  };
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / perContext);
    d.contextIndex[i] = c;
    d.actions[i] = Math.tanh(contexts[c]![0]! * d.states[i * 3]! - contexts[c]![1]! * d.states[i * 3 + 2]!);
  }
  return d;
}

const contexts = [
  [0.6, 1.0],
  [1.0, 1.4],
  [1.4, 0.6],
];
const small = (m: 'hyperzero' | 'mlp', withQ = true): ZeroShotModel =>
  m === 'hyperzero'
    ? new HyperZero({ contextSize: 2, observationSize: 3, actionSize: 1, embedSize: 16, hiddenSize: 8, withQ, seed: 4 })
    : new ContextMlp({
        contextSize: 2,
        observationSize: 3,
        actionSize: 1,
        embedSize: 16,
        hiddenSize: 8,
        withQ,
        seed: 4,
      });

async function train(model: ZeroShotModel, options: Omit<HyperZeroTrainerOptions, 'model'>, resume = false) {
  const t = new HyperZeroTrainer({ model, ...options });
  try {
    const r = await t.run({ resume });
    const weights: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(model.variables)) weights[k] = Array.from(await v.data());
    return { ...r, weights };
  } finally {
    t.dispose();
  }
}

describe('HyperZeroTrainer', () => {
  it('takes the reference’s defaults and refuses bad options by name', () => {
    const m = small('hyperzero');
    const t = new HyperZeroTrainer({ model: m, data: synthetic(contexts) });
    expect(t.config).toMatchObject({
      epochs: 500,
      batchSize: 512,
      learningRate: 1e-4,
      valueWeight: 0.01,
      tdWeight: 0.01,
      useTd: true,
      batchesPerEpoch: 1,
    });
    t.dispose();
    const d = synthetic(contexts);
    expect(() => new HyperZeroTrainer({ model: m, data: d, lr: 1 } as never)).toThrow(ConfigError);
    expect(() => new HyperZeroTrainer({ model: m, data: { ...d, values: new Float32Array(3) } })).toThrow(
      /data\.values/,
    );
    const wide = synthetic([[1, 2, 3]]);
    expect(() => new HyperZeroTrainer({ model: m, data: wide })).toThrow(/contexts of 3/);
    const p = small('mlp', false);
    expect(() => new HyperZeroTrainer({ model: p, data: d, useTd: true })).toThrow(ConfigError);
    expect(new HyperZeroTrainer({ model: p, data: d }).config.useTd).toBe(false);
    m.dispose();
    p.dispose();
  });

  it('lowers the loss on its data, and reports the held-out contexts’ losses', async () => {
    const m = small('hyperzero');
    const epochs: { loss: number; valid: number | null }[] = [];
    const before = tf.memory().numTensors;
    const t = new HyperZeroTrainer({
      model: m,
      data: synthetic(contexts),
      validation: synthetic([[1.2, 1.2]], 20, 7),
      epochs: 30,
      batchSize: 32,
      learningRate: 3e-3,
      callbacks: { onEpoch: (e) => void epochs.push({ loss: e.train.action, valid: e.valid?.td ?? null }) },
    });
    const r = await t.run();
    expect(r.updates).toBe(30 * 3);
    expect(epochs.length).toBe(30);
    expect(epochs.at(-1)!.loss).toBeLessThan(epochs[0]!.loss * 0.5);
    expect(epochs[0]!.valid).toBeGreaterThan(0); // the TD term is reported on validation
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  for (const [name, kind, withQ] of [
    ['HyperZero', 'hyperzero', true],
    ['ContextMlp policy-only', 'mlp', false],
  ] as const)
    it(`${name}: a run resumed from a checkpoint ends with the numbers of one that never stopped`, async () => {
      const data = synthetic(contexts);
      const options = (dir: string): Omit<HyperZeroTrainerOptions, 'model'> => ({
        data,
        validation: synthetic([[1.2, 1.2]], 10, 3),
        epochs: 4,
        batchSize: 16,
        learningRate: 1e-3,
        seed: 2,
        checkpointDir: dir,
        checkpointEvery: 2,
      });
      const whole = await train(small(kind, withQ), options(tempDir()));
      const dir = tempDir();
      const stop = new Error('stopped after the first checkpoint');
      await expect(
        train(small(kind, withQ), {
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
        small(kind, withQ),
        { ...options(dir), callbacks: { onResume: (e) => void resumed.push(e.epoch) } },
        true,
      );
      expect(resumed).toEqual([2]);
      expect(rest.curve).toEqual(whole.curve);
      expect(rest.updates).toBe(whole.updates);
      expect(rest.weights).toEqual(whole.weights);
      // a changed configuration is refused before anything is restored
      await expect(train(small(kind, withQ), { ...options(dir), tdWeight: 0.5 }, true)).rejects.toSatisfy(
        CheckpointError.isInstance,
      );
    });

  it('leaks no tensors over training, validation and a zero-shot evaluation', async () => {
    const m = small('hyperzero');
    const before = tf.memory().numTensors;
    const t = new HyperZeroTrainer({
      model: m,
      data: synthetic(contexts),
      validation: synthetic([[1.2, 1.2]], 10, 3),
      epochs: 2,
      batchSize: 16,
      makeEnv: ([l, mass]) => makeEnv('Pendulum-v1', { l, m: mass, maxEpisodeSteps: 20 }),
    });
    await t.run();
    await t.evaluateZeroShot([[1.2, 1.2]], 2);
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});

describe('evaluateZeroShot', () => {
  it('steps every context together, and each context gets the returns it gets alone', async () => {
    const m = small('hyperzero');
    const mk = ([l, mass]: readonly number[]) => makeEnv('Pendulum-v1', { l, m: mass, maxEpisodeSteps: 30 });
    const all = await evaluateZeroShot(m, contexts, { makeEnv: mk, episodes: 2, seed: 5 });
    expect(all.map((e) => e.context)).toEqual(contexts);
    for (const [c, ctx] of contexts.entries()) {
      const [alone] = await evaluateZeroShot(m, [ctx], { makeEnv: mk, episodes: 2, seed: 5 });
      expect(alone!.returns.map((r) => r.toFixed(3))).toEqual(all[c]!.returns.map((r) => r.toFixed(3)));
    }
    // by hand: context 0, episode 1, with the generated policy applied one step at a time
    const env = mk(contexts[0]!);
    let obs = env.reset({ seed: episodeSeed(5, 1) }).observation;
    let total = 0;
    const ctx = tf.tensor2d([contexts[0]!]);
    const p = m.prepare(ctx);
    for (;;) {
      const a = tf.tidy(() => m.act(p, tf.tensor2d(obs, [1, 3]), tf.tensor1d([0], 'int32')));
      const step = env.step([(await a.data())[0]! * 2]);
      a.dispose();
      total += step.reward;
      obs = step.observation;
      if (step.truncated || step.terminated) break;
    }
    expect(total).toBeCloseTo(all[0]!.returns[1]!, 3);
    expect(all.every((e) => e.lengths.every((n) => n === 30))).toBe(true);
    // maxSteps ends every episode early: the first 10 steps' rewards of the full episodes
    const short = await evaluateZeroShot(m, contexts, { makeEnv: mk, episodes: 2, seed: 5, maxSteps: 10 });
    expect(short.map((e) => e.lengths)).toEqual(contexts.map(() => [10, 10]));
    for (const e of short) for (const r of e.returns) expect(r).toBeLessThanOrEqual(0);
    await expect(evaluateZeroShot(m, contexts, { makeEnv: mk, episodes: 1, maxSteps: 0 })).rejects.toThrow(ConfigError);
    disposePrepared(p);
    ctx.dispose();
    m.dispose();
  });

  it('contextGrid and splitContexts: the reference’s seeded 20% hold-out', () => {
    const grid = contextGrid([
      [0.6, 1, 1.4],
      [0.5, 1],
    ]);
    expect(grid).toEqual([
      [0.6, 0.5],
      [0.6, 1],
      [1, 0.5],
      [1, 1],
      [1.4, 0.5],
      [1.4, 1],
    ]);
    const big = contextGrid([
      [1, 2, 3, 4, 5],
      [1, 2, 3, 4, 5],
    ]);
    const s = splitContexts(big, { seed: 2 });
    expect(s.test.length).toBe(5);
    expect(s.train.length).toBe(20);
    expect([...s.train, ...s.test].map(String).sort()).toEqual(big.map(String).sort());
    expect(splitContexts(big, { seed: 2 })).toEqual(s);
    expect(splitContexts(big, { seed: 3 }).test).not.toEqual(s.test);
  });
});
