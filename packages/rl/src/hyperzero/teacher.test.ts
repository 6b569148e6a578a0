import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, initBackend } from '@hypernets/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeEnv } from '../envs/registry.js';
import { buildDataset } from './dataset.js';
import { Td3Teacher, type Td3Options } from './teacher.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const small = (extra: Partial<Td3Options> = {}): Td3Options => ({
  makeEnv: () => makeEnv('Pendulum-v1', { l: 0.8, m: 1.2, maxEpisodeSteps: 20 }),
  totalSteps: 120,
  warmupSteps: 40,
  hiddenSizes: [16, 16],
  batchSize: 16,
  seed: 3,
  ...extra,
});

async function actorWeights(t: Td3Teacher): Promise<number[]> {
  return Array.from(await t.variables['actor.fc1.weight']!.data());
}

describe('Td3Teacher', () => {
  it('is seeded: the same seed trains the same actor, another seed another', async () => {
    const before = tf.memory().numTensors;
    const a = new Td3Teacher(small());
    const b = new Td3Teacher(small());
    const c = new Td3Teacher(small({ seed: 4 }));
    const ra = await a.train();
    await b.train();
    await c.train();
    expect(ra.steps).toBe(120);
    expect(ra.episodeReturns.length).toBe(6); // 120 steps of 20-step episodes
    expect(await actorWeights(a)).toEqual(await actorWeights(b));
    expect(await actorWeights(a)).not.toEqual(await actorWeights(c));
    // the targets moved towards the trained nets, by Polyak steps (not copied)
    const target = Array.from(await a.variables['target.actor.fc1.weight']!.data());
    expect(target).not.toEqual(await actorWeights(a));
    for (const t of [a, b, c]) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => new Td3Teacher(small({ tau: 0 }))).toThrow(ConfigError);
  });

  it('records deterministic rollouts with a* in [−1, 1] and Q* = Q1(s, a*)', async () => {
    const t = new Td3Teacher(small());
    await t.train();
    const before = tf.memory().numTensors;
    const r = await t.rollout(2, 7);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.rewards.length).toBe(40);
    expect(r.states.length).toBe(120);
    expect(r.nextStates.length).toBe(120);
    expect(r.returns.length).toBe(2);
    expect(r.returns[0]! + r.returns[1]!).toBeCloseTo(
      r.rewards.reduce((s, x) => s + x, 0),
      3,
    );
    expect(Array.from(r.actions).every((a) => a >= -1 && a <= 1)).toBe(true);
    // s' of step k is s of step k + 1 within an episode
    expect(Array.from(r.nextStates.subarray(0, 3))).toEqual(Array.from(r.states.subarray(3, 6)));
    const q = tf.tidy(() => t.q(tf.tensor2d(r.states, [40, 3]), tf.tensor2d(r.actions, [40, 1])));
    const qh = await q.data();
    q.dispose();
    for (let i = 0; i < 40; i++) expect(r.values[i]).toBeCloseTo(qh[i]!, 5);
    // the same seed gives the same episodes
    const again = await t.rollout(2, 7);
    expect(Array.from(again.states)).toEqual(Array.from(r.states));
    // a dataset's TD discount is γ(1 − done)
    const d = buildDataset(
      [
        { context: [0.8, 1.2], rollout: r },
        { context: [1.0, 1.0], rollout: { ...again, dones: again.dones.map((_, i) => (i === 3 ? 1 : 0)) } },
      ],
      0.98,
    );
    expect(d.contextIndex.length).toBe(80);
    expect(d.contextIndex[39]).toBe(0);
    expect(d.contextIndex[40]).toBe(1);
    expect(d.discounts[0]).toBeCloseTo(0.98, 6);
    expect(d.discounts[43]).toBe(0);
    t.dispose();
  });
});
