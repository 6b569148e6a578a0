import { describe, expect, it } from 'vitest';
import { InvalidActionError, ResetNeededError } from '../../errors.js';
import { makeEnv } from '../registry.js';
import { RecordEpisodeStatistics, type EpisodeStatistics } from '../wrappers/record-episode-statistics.js';
import { SyncVectorEnv } from './sync-vector-env.js';

describe('SyncVectorEnv (same-step autoreset)', () => {
  const cartpoles = (n: number) =>
    new SyncVectorEnv(Array.from({ length: n }, () => () => new RecordEpisodeStatistics(makeEnv('CartPole-v1'))));

  it('seeds env i with seed + i and stacks observations row-major', () => {
    const vec = cartpoles(3);
    const { observations } = vec.reset({ seed: 10 });
    expect(observations).toHaveLength(12);
    expect(vec.observationSpace.shape).toEqual([3, 4]);
    for (let i = 0; i < 3; i++) {
      const single = makeEnv('CartPole-v1').reset({ seed: 10 + i }).observation;
      expect(Array.from(observations.subarray(4 * i, 4 * i + 4))).toEqual(Array.from(single));
    }
  });

  it('resets an ended env in the same step: final observation and info in infos[i], the reset observation returned', () => {
    const vec = cartpoles(2);
    vec.reset({ seed: 0 });
    // The same actions on single envs, reset by hand, are the reference.
    const refs = [0, 1].map((i) => {
      const e = makeEnv('CartPole-v1');
      e.reset({ seed: i });
      return e;
    });
    let ends = 0;
    for (let t = 0; t < 120; t++) {
      const actions = [1, t % 2];
      const r = vec.step(actions);
      for (let i = 0; i < 2; i++) {
        const ref = refs[i].step(actions[i]);
        expect(r.rewards[i]).toBe(ref.reward);
        expect(r.terminated[i]).toBe(ref.terminated);
        const obs = Array.from(r.observations.subarray(4 * i, 4 * i + 4));
        if (ref.terminated || ref.truncated) {
          ends += 1;
          expect(Array.from(r.infos[i].finalObservation as Float32Array)).toEqual(Array.from(ref.observation));
          const ep = (r.infos[i].finalInfo as { episode: EpisodeStatistics }).episode;
          expect(ep.r).toBe(ep.l);
          const next = refs[i].reset(); // continues env i's seeded stream, as the vector env's reset does
          expect(obs).toEqual(Array.from(next.observation));
          for (const v of obs) expect(Math.abs(v)).toBeLessThan(0.05);
        } else {
          expect(r.infos[i].finalObservation).toBeUndefined();
          expect(obs).toEqual(Array.from(ref.observation));
        }
      }
    }
    expect(ends).toBeGreaterThan(3);
  });

  it('takes Box actions flat or per env, and checks their count', () => {
    const vec = new SyncVectorEnv([0, 1].map(() => () => makeEnv('Pendulum-v1')));
    vec.reset({ seed: 0 });
    const flat = vec.step(Float32Array.of(0.5, -0.5));
    vec.reset({ seed: 0 });
    const nested = vec.step([[0.5], [-0.5]]);
    expect(nested).toEqual(flat);
    expect(() => vec.step([0.5])).toThrow(InvalidActionError);
    expect(() => vec.step([0.5, 0.1, 0.2])).toThrow(/expected 2 × 1 \(numEnvs × action size\) or 2 arrays/);
    const cart = cartpoles(2);
    expect(() => cart.step([0, 1])).toThrow(ResetNeededError);
    cart.reset({ seed: 0 });
    expect(() => cart.step([0, 1, 1])).toThrow(/has 3 actions; expected one per env \(2\)/);
  });
});
