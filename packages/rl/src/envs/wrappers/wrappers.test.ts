import { describe, expect, it } from 'vitest';
import { makeEnv } from '../registry.js';
import { PendulumEnv } from '../classic/pendulum.js';
import { ClipAction } from './clip-action.js';
import { NormalizeObservation } from './normalize-observation.js';
import { NormalizeReward } from './normalize-reward.js';
import { RecordEpisodeStatistics, type EpisodeStatistics } from './record-episode-statistics.js';
import { RunningMeanStd } from './running-mean-std.js';

/** What RunningMeanStd must hold after n values x: the prior (mean 0, var 1, count 1e-4) merged with the batch. */
function expected(xs: number[]): { mean: number; var: number; count: number } {
  const eps = 1e-4;
  const n = xs.length;
  const m = xs.reduce((a, b) => a + b, 0) / n;
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / n;
  const total = eps + n;
  return { mean: (n * m) / total, var: (eps * 1 + n * v + (m * m * eps * n) / total) / total, count: total };
}

describe('RunningMeanStd', () => {
  it('one-at-a-time and batched updates equal the closed form of the merged moments', () => {
    const xs = Array.from({ length: 257 }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 7) * 0.25 - 1);
    const one = new RunningMeanStd(1);
    for (const x of xs) one.update([x]);
    const batched = new RunningMeanStd(1);
    batched.update(xs.slice(0, 100), 100);
    batched.update(xs.slice(100), 157);
    const want = expected(xs);
    for (const r of [one, batched]) {
      expect(r.count).toBeCloseTo(want.count, 9);
      expect(r.mean[0]).toBeCloseTo(want.mean, 12);
      expect(r.var[0]).toBeCloseTo(want.var, 12);
    }
    const copy = new RunningMeanStd(1);
    copy.setState(JSON.parse(JSON.stringify(one.getState())));
    expect(copy.getState()).toEqual(one.getState());
  });
});

describe('NormalizeObservation', () => {
  it('normalises with the statistics of every observation so far (reset included), ε 1e-8, clip 10', () => {
    const env = new NormalizeObservation(makeEnv('CartPole-v1', { maxEpisodeSteps: null }));
    const raw = new NormalizeObservation(makeEnv('CartPole-v1', { maxEpisodeSteps: null }), { clip: Infinity });
    const inner = makeEnv('CartPole-v1', { maxEpisodeSteps: null });
    const seen: Float32Array[] = [inner.reset({ seed: 3 }).observation];
    let z = env.reset({ seed: 3 }).observation;
    raw.reset({ seed: 3 });
    for (let t = 0; t < 30; t++) {
      const a = t % 3 === 0 ? 0 : 1;
      const r = inner.step(a);
      seen.push(r.observation);
      z = env.step(a).observation;
      raw.step(a);
      if (r.terminated) break;
    }
    for (let i = 0; i < 4; i++) {
      const col = seen.map((o) => o[i]);
      const want = expected(col);
      expect(env.obsRms.mean[i]).toBeCloseTo(want.mean, 10);
      expect(env.obsRms.var[i]).toBeCloseTo(want.var, 10);
      const last = seen.at(-1)![i];
      expect(z[i]).toBeCloseTo(Math.max(-10, Math.min(10, (last - want.mean) / Math.sqrt(want.var + 1e-8))), 5);
    }
    expect(env.observationSpace.high[0]).toBe(10);
    // Frozen statistics for evaluation.
    env.updateRunningMean = false;
    const before = env.obsRms.getState();
    env.reset({ seed: 4 });
    env.step(0);
    expect(env.obsRms.getState()).toEqual(before);
  });
});

describe('NormalizeReward', () => {
  it('scales by the std of the discounted return (γ 0.99, reset at episode ends), clips at 10', () => {
    const gamma = 0.99;
    const env = new NormalizeReward(makeEnv('MountainCar-v0', { maxEpisodeSteps: 50 }), { gamma });
    const returns: number[] = [];
    let R = 0;
    env.reset({ seed: 0 });
    for (let t = 0; t < 120; t++) {
      const r = env.step(2);
      R = R * gamma - 1; // MountainCar's raw reward is −1
      returns.push(R);
      const want = expected(returns);
      expect(env.returnRms.var[0]).toBeCloseTo(want.var, 10);
      expect(r.reward).toBeCloseTo(Math.max(-10, -1 / Math.sqrt(want.var + 1e-8)), 10);
      if (r.truncated || r.terminated) {
        R = 0;
        expect(env.discountedReturn).toBe(0);
        env.reset();
      }
    }
  });

  it('clips large scaled rewards to ±clip', () => {
    const env = new NormalizeReward(makeEnv('MountainCar-v0'), { clip: 0.5 });
    env.reset({ seed: 0 });
    expect(env.step(1).reward).toBe(-0.5);
  });
});

describe('RecordEpisodeStatistics and ClipAction', () => {
  it('puts the raw return and length in info.episode at the end of each episode', () => {
    const env = new RecordEpisodeStatistics(makeEnv('Pendulum-v1', { maxEpisodeSteps: 10 }));
    const plain = makeEnv('Pendulum-v1', { maxEpisodeSteps: 10 });
    for (let ep = 0; ep < 3; ep++) {
      env.reset({ seed: ep });
      plain.reset({ seed: ep });
      let sum = 0;
      let last;
      for (let t = 0; t < 10; t++) {
        last = env.step([0.5]);
        sum += plain.step([0.5]).reward;
        if (t < 9) expect(last.info.episode).toBeUndefined();
      }
      const stats = last!.info.episode as EpisodeStatistics;
      expect(stats.l).toBe(10);
      expect(stats.r).toBeCloseTo(sum, 12);
      expect(stats.t).toBeGreaterThanOrEqual(0);
    }
    expect(env.episodeCount).toBe(3);
    expect(env.returnQueue).toHaveLength(3);
    expect(env.lengthQueue).toEqual([10, 10, 10]);
  });

  it('ClipAction clips to the env’s bounds and widens its own action space', () => {
    const clipped = new ClipAction(new PendulumEnv());
    const direct = new PendulumEnv();
    expect(clipped.actionSpace.low[0]).toBe(-Infinity);
    clipped.reset({ seed: 1 });
    direct.reset({ seed: 1 });
    const a = clipped.step([7.5]);
    const b = direct.step([2]);
    expect(a).toEqual(b);
    expect(() => clipped.step([Number.NaN])).toThrow(/value 0 is NaN/);
  });
});
