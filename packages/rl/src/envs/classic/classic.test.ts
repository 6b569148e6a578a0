import { describe, expect, it } from 'vitest';
import { close, fixtures, type FixtureEnv } from '../../testing/fixtures.js';
import type { ActionOf, Space } from '../spaces.js';
import { AcrobotEnv } from './acrobot.js';
import { CartPoleEnv } from './cartpole.js';
import type { ClassicControlEnv } from './classic-env.js';
import { ContinuousMountainCarEnv } from './continuous-mountain-car.js';
import { MountainCarEnv } from './mountain-car.js';
import { angleNormalize, PendulumEnv } from './pendulum.js';

function build(f: FixtureEnv): ClassicControlEnv<Space> {
  switch (f.id) {
    case 'CartPole-v1':
      return new CartPoleEnv();
    case 'Pendulum-v1':
      return new PendulumEnv({ g: f.kwargs.g });
    case 'MountainCar-v0':
      return new MountainCarEnv();
    case 'MountainCarContinuous-v0':
      return new ContinuousMountainCarEnv();
    case 'Acrobot-v1':
      return new AcrobotEnv();
  }
  throw new Error(`no env for fixture ${f.id}`);
}

function expectClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++)
    if (!close(actual[i], expected[i])) expect.fail(`${what}[${i}]: ${actual[i]} vs Gymnasium's ${expected[i]}`);
}

describe(`classic control against Gymnasium ${fixtures.gymnasium_version}'s own envs`, () => {
  it('the fixture covers the five envs with ≥ 200 transitions each, terminal ones included', () => {
    const ids = new Set(fixtures.envs.map((e) => e.id));
    expect([...ids].sort()).toEqual(
      ['Acrobot-v1', 'CartPole-v1', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Pendulum-v1'].sort(),
    );
    for (const id of ids) {
      const cases = fixtures.envs.filter((e) => e.id === id).flatMap((e) => e.cases);
      expect(cases.length, id).toBeGreaterThanOrEqual(200);
      if (id !== 'Pendulum-v1')
        expect(
          cases.some((c) => c[5]),
          `${id} has terminating steps`,
        ).toBe(true);
    }
  });

  for (const f of fixtures.envs) {
    const label = `${f.id}${Object.keys(f.kwargs).length ? ` ${JSON.stringify(f.kwargs)}` : ''}`;
    it(`${label}: ${f.cases.length} random (state, action) → next state, observation, reward, terminated within 1e-6`, () => {
      const env = build(f);
      for (const [k, [state, action, next, obs, reward, terminated]] of f.cases.entries()) {
        env.setState(state);
        const r = env.step(action as ActionOf<Space>);
        const what = `${label} case ${k}`;
        expectClose(env.state as Float64Array, next, `${what} next state`);
        expectClose(r.observation, obs, `${what} observation`);
        if (!close(r.reward, reward)) expect.fail(`${what} reward: ${r.reward} vs Gymnasium's ${reward}`);
        expect(r.terminated, `${what} terminated`).toBe(terminated);
        expect(r.truncated).toBe(false);
      }
    });

    const traj = f.trajectory;
    if (traj) {
      it(`${label}: a ${traj.steps.length}-step trajectory from a reset state matches step by step`, () => {
        const env = build(f);
        env.setState(traj.start);
        for (const [k, [action, obs, reward, terminated]] of traj.steps.entries()) {
          const r = env.step(action as ActionOf<Space>);
          expectClose(r.observation, obs, `${label} step ${k} observation`);
          if (!close(r.reward, reward)) expect.fail(`${label} step ${k} reward: ${r.reward} vs ${reward}`);
          expect(r.terminated).toBe(terminated);
        }
      });
    }
  }
});

describe('reset distributions (Gymnasium’s ranges, drawn with core’s Rng)', () => {
  const draws = 300;
  const each = (env: ClassicControlEnv<Space>, check: (s: Float64Array) => void) => {
    env.reset({ seed: 7 });
    for (let i = 0; i < draws; i++) {
      env.reset();
      check(env.state as Float64Array);
    }
  };

  it('CartPole: every state value in U(−0.05, 0.05); reset options low/high move the bounds', () => {
    let min = Infinity;
    let max = -Infinity;
    each(new CartPoleEnv(), (s) => {
      for (const v of s) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    });
    expect(min).toBeGreaterThanOrEqual(-0.05);
    expect(max).toBeLessThan(0.05);
    expect(min).toBeLessThan(-0.045); // spread over the whole range
    expect(max).toBeGreaterThan(0.045);
    const env = new CartPoleEnv();
    env.reset({ seed: 1, options: { low: 0.2, high: 0.3 } });
    for (const v of env.state as Float64Array) expect(v >= 0.2 && v < 0.3).toBe(true);
  });

  it('Pendulum: θ ~ U(−π, π), θ̇ ~ U(−1, 1); observation [cos θ, sin θ, θ̇]', () => {
    each(new PendulumEnv(), (s) => {
      expect(Math.abs(s[0])).toBeLessThanOrEqual(Math.PI);
      expect(Math.abs(s[1])).toBeLessThanOrEqual(1);
    });
    const env = new PendulumEnv();
    const { observation } = env.reset({ seed: 3, options: { xInit: 0.1, yInit: 0.2 } });
    const s = env.state as Float64Array;
    expect(Math.abs(s[0])).toBeLessThanOrEqual(0.1);
    expect(Math.abs(s[1])).toBeLessThanOrEqual(0.2);
    expect(Array.from(observation)).toEqual(Array.from(Float32Array.of(Math.cos(s[0]), Math.sin(s[0]), s[1])));
  });

  it('MountainCar and MountainCarContinuous: x ~ U(−0.6, −0.4), v = 0', () => {
    for (const env of [new MountainCarEnv(), new ContinuousMountainCarEnv()])
      each(env, (s) => {
        expect(s[0] >= -0.6 && s[0] < -0.4).toBe(true);
        expect(s[1]).toBe(0);
      });
  });

  it('Acrobot: each value U(−0.1, 0.1), rounded to float32', () => {
    each(new AcrobotEnv(), (s) => {
      for (const v of s) {
        expect(Math.abs(v)).toBeLessThanOrEqual(0.1);
        expect(Math.fround(v)).toBe(v);
      }
    });
  });
});

describe('determinism', () => {
  it('the same seed gives the same episode; another seed another', () => {
    const run = (seed: number) => {
      const env = new AcrobotEnv();
      const obs = [Array.from(env.reset({ seed }).observation)];
      for (let i = 0; i < 20; i++) obs.push(Array.from(env.step(i % 3).observation));
      return obs;
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
  });

  it('reset without a seed continues the stream, as Gymnasium does', () => {
    const a = new CartPoleEnv();
    const b = new CartPoleEnv();
    const first = [a.reset({ seed: 5 }).observation, a.reset().observation, a.reset().observation];
    const again = [b.reset({ seed: 5 }).observation, b.reset().observation, b.reset().observation];
    expect(again).toEqual(first);
    expect(first[1]).not.toEqual(first[0]);
  });
});

describe('Pendulum angle_normalize', () => {
  it('maps to [−π, π) with a floored modulo (Python’s %)', () => {
    expect(angleNormalize(0)).toBe(0);
    expect(angleNormalize(Math.PI)).toBeCloseTo(-Math.PI, 12);
    expect(angleNormalize(-Math.PI)).toBeCloseTo(-Math.PI, 12);
    expect(angleNormalize(3 * Math.PI + 0.5)).toBeCloseTo(-Math.PI + 0.5, 12);
    expect(angleNormalize(-2 * Math.PI - 0.25)).toBeCloseTo(-0.25, 12);
  });
});
