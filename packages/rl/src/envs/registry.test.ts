import { ConfigError } from '@hypernets/core';
import { describe, expect, it } from 'vitest';
import { InvalidActionError, ResetNeededError, UnknownEnvError } from '../errors.js';
import { ENV_IDS, envSpec, knownEnvIds, makeEnv, registerEnv, unregisterEnv } from './registry.js';
import { CARTPOLE_THETA_THRESHOLD, CARTPOLE_X_THRESHOLD } from './classic/cartpole.js';
import type { PendulumEnv } from './classic/pendulum.js';
import type { Env } from './env.js';
import type { Discrete } from './spaces.js';

describe('makeEnv', () => {
  it("registers Gymnasium's classic-control and MuJoCo ids with their time limits and reward thresholds", () => {
    expect([...ENV_IDS]).toEqual([
      'CartPole-v1',
      'MountainCar-v0',
      'MountainCarContinuous-v0',
      'Pendulum-v1',
      'Acrobot-v1',
      'HalfCheetah-v5',
      'Hopper-v5',
      'Walker2d-v5',
      'Ant-v5',
    ]);
    const limits = Object.fromEntries(
      ENV_IDS.map((id) => [id, [envSpec(id).maxEpisodeSteps, envSpec(id).rewardThreshold]]),
    );
    expect(limits).toEqual({
      'CartPole-v1': [500, 475],
      'MountainCar-v0': [200, -110],
      'MountainCarContinuous-v0': [999, 90],
      'Pendulum-v1': [200, null],
      'Acrobot-v1': [500, -100],
      'HalfCheetah-v5': [1000, 4800],
      'Hopper-v5': [1000, 3800],
      'Walker2d-v5': [1000, null],
      'Ant-v5': [1000, 6000],
    });
    const env = makeEnv('Pendulum-v1', { g: 9.81 });
    expect(env.spec).toEqual({ id: 'Pendulum-v1', maxEpisodeSteps: 200, rewardThreshold: null, kwargs: { g: 9.81 } });
    expect(env.actionSpace.kind).toBe('box');
    expect(String(makeEnv('CartPole-v1').actionSpace)).toBe('Discrete(2)');
  });

  it('CartPole-v1 is truncated at step 500 when a controller keeps the pole up', () => {
    const env = makeEnv('CartPole-v1');
    let { observation: o } = env.reset({ seed: 0 });
    let steps = 0;
    for (;;) {
      // A linear state-feedback controller (hand-tuned gains) balances the pole and centres the cart.
      const u = 0.5 * o[0] + 1.0 * o[1] + 20 * o[2] + 3 * o[3];
      const r = env.step(u > 0 ? 1 : 0);
      steps += 1;
      o = r.observation;
      expect(r.reward).toBe(1);
      expect(r.terminated).toBe(false);
      if (r.truncated) break;
    }
    expect(steps).toBe(500);
    expect(() => env.step(0)).toThrow(/truncated at 500 steps; call reset\(\) first/);
    env.reset();
    expect(env.step(1).truncated).toBe(false);
  });

  it('CartPole terminates past 12° or 2.4 with reward 1 on the terminating step', () => {
    const env = makeEnv('CartPole-v1');
    env.reset({ seed: 1 });
    let r;
    let n = 0;
    do {
      r = env.step(1);
      n += 1;
    } while (!r.terminated);
    expect(r.reward).toBe(1);
    expect(r.truncated).toBe(false);
    expect(n).toBeLessThan(50);
    const [x, , theta] = r.observation;
    expect(Math.abs(x) > CARTPOLE_X_THRESHOLD || Math.abs(theta) > CARTPOLE_THETA_THRESHOLD).toBe(true);
    expect(() => env.step(1)).toThrow(ResetNeededError);
    const sb = makeEnv('CartPole-v1', { suttonBartoReward: true });
    sb.reset({ seed: 1 });
    const rewards: number[] = [];
    for (;;) {
      const s = sb.step(1);
      rewards.push(s.reward);
      if (s.terminated) break;
    }
    expect(rewards.slice(0, -1).every((v) => v === 0)).toBe(true);
    expect(rewards.at(-1)).toBe(-1);
  });

  it('Pendulum-v1 and MountainCar-v0 truncate at 200; maxEpisodeSteps overrides, null removes the limit', () => {
    for (const id of ['Pendulum-v1', 'MountainCar-v0'] as const) {
      const env = makeEnv(id) as Env;
      env.reset({ seed: 2 });
      let n = 0;
      let r;
      do {
        r = env.step(id === 'Pendulum-v1' ? [0] : 1);
        n += 1;
      } while (!r.truncated && !r.terminated);
      expect([id, n, r.truncated, r.terminated]).toEqual([id, 200, true, false]);
    }
    const short = makeEnv('Acrobot-v1', { maxEpisodeSteps: 3 });
    short.reset({ seed: 0 });
    expect([0, 1, 2].map(() => short.step(1).truncated)).toEqual([false, false, true]);
    const endless = makeEnv('Pendulum-v1', { maxEpisodeSteps: null });
    endless.reset({ seed: 0 });
    for (let i = 0; i < 250; i++) expect(endless.step([1]).truncated).toBe(false);
  });

  it('MountainCarContinuous-v0: +100 at the flag minus 0.1·a² of the unclipped action', () => {
    const env = makeEnv('MountainCarContinuous-v0');
    env.reset({ seed: 0 });
    (env.unwrapped as unknown as { setState(s: number[]): void }).setState([0.449, 0.01]);
    const r = env.step([2]);
    expect(r.terminated).toBe(true);
    expect(r.reward).toBeCloseTo(100 - 0.1 * 4, 12);
  });
});

describe('typed errors', () => {
  it('an unknown id lists the known ones', () => {
    let err: unknown;
    try {
      makeEnv('Humanoid-v5');
    } catch (e) {
      err = e;
    }
    expect(UnknownEnvError.isInstance(err)).toBe(true);
    expect(String((err as Error).message)).toBe(
      "unknown environment id 'Humanoid-v5'; known ids: CartPole-v1, MountainCar-v0, MountainCarContinuous-v0, Pendulum-v1, Acrobot-v1, HalfCheetah-v5, Hopper-v5, Walker2d-v5, Ant-v5",
    );
  });

  it('registerEnv: makeEnv builds your env with its time limit; taken ids are refused; unregisterEnv removes it', () => {
    registerEnv('test/Short-v0', (o) => makeEnv('CartPole-v1', { ...o, maxEpisodeSteps: null }), {
      maxEpisodeSteps: 3,
    });
    try {
      const env = makeEnv('test/Short-v0');
      expect(env.spec).toMatchObject({ id: 'test/Short-v0', maxEpisodeSteps: 3 });
      env.reset({ seed: 0 });
      expect([env.step(0).truncated, env.step(0).truncated, env.step(0).truncated]).toEqual([false, false, true]);
      expect(knownEnvIds()).toContain('test/Short-v0');
      expect(() => registerEnv('test/Short-v0', () => env)).toThrow(/already registered/);
      expect(() => registerEnv('CartPole-v1', () => env)).toThrow(/built-in/);
    } finally {
      expect(unregisterEnv('test/Short-v0')).toBe(true);
    }
    expect(() => makeEnv('test/Short-v0')).toThrow(UnknownEnvError);
  });

  it("Pendulum-v1's mass and length options enter its dynamics as Gymnasium's m and l", () => {
    const env = makeEnv('Pendulum-v1', { m: 2, l: 0.5 });
    env.reset({ seed: 0 });
    (env.unwrapped as PendulumEnv).setState([0.3, 0.1]);
    const r = env.step([1]);
    // θ̇' = θ̇ + (3g/(2l) sin θ + 3/(m l²) u) dt = 0.1 + (30 sin 0.3 + 6) · 0.05; θ' = θ + θ̇' dt
    const thDot = 0.1 + (30 * Math.sin(0.3) + 6) * 0.05;
    expect(r.observation[2]).toBeCloseTo(thDot, 6);
    expect(r.observation[0]).toBeCloseTo(Math.cos(0.3 + thDot * 0.05), 6);
    expect(r.reward).toBeCloseTo(-(0.3 ** 2 + 0.1 * 0.1 ** 2 + 0.001), 6);
    expect(() => makeEnv('Pendulum-v1', { m: 0 })).toThrow(/options.m/);
    expect(() => makeEnv('Pendulum-v1', { l: -1 })).toThrow(/options.l/);
  });

  it('bad options are ConfigErrors naming the option', () => {
    expect(() => makeEnv('CartPole-v1', { g: 9.8 })).toThrow(/makeEnv\('CartPole-v1'\) options.g/);
    expect(() => makeEnv('Pendulum-v1', { g: Number.NaN })).toThrow(ConfigError);
    expect(() => makeEnv('Acrobot-v1', { maxEpisodeSteps: 0 })).toThrow(/options.maxEpisodeSteps/);
    const env = makeEnv('CartPole-v1');
    expect(() => env.reset({ seed: -1 })).toThrow(/seed.*\[0, 2\^32\)/);
    expect(() => env.reset({ options: { low: 1, high: 0 } })).toThrow(/low \(1\) must not exceed high \(0\)/);
    expect(() => env.reset({ options: { lo: 1 } })).toThrow(/options.lo.*unknown option; this env takes low, high/);
  });

  it('bad actions: out of a Discrete range, not an integer, NaN, wrong shape', () => {
    const cart = makeEnv('CartPole-v1');
    cart.reset({ seed: 0 });
    const cases: [unknown, RegExp][] = [
      [2, /CartPole-v1: invalid action 2: expected an integer in 0\.\.1 \(Discrete\(2\)\)/],
      [-1, /invalid action -1/],
      [0.5, /invalid action 0\.5/],
      [Number.NaN, /invalid action NaN: NaN; expected an integer in 0\.\.1/],
      [[1], /invalid action \[1\]: expected an integer/],
    ];
    for (const [a, msg] of cases) {
      let err: unknown;
      try {
        (cart as Env<Discrete>).step(a as number);
      } catch (e) {
        err = e;
      }
      expect(InvalidActionError.isInstance(err), String(a)).toBe(true);
      expect((err as Error).message).toMatch(msg);
    }
    // The episode goes on after a refused action.
    expect(cart.step(1).terminated).toBe(false);

    const pend = makeEnv('Pendulum-v1');
    pend.reset({ seed: 0 });
    expect(() => pend.step([0, 1])).toThrow(
      /Pendulum-v1: invalid action \[0, 1\]: has 2 values; expected an array of 1 finite number/,
    );
    expect(() => pend.step([Number.NaN])).toThrow(/value 0 is NaN/);
    expect(() => pend.step(1 as unknown as number[])).toThrow(InvalidActionError);
    expect(pend.step([5]).reward).toBeLessThan(0); // out of [−2, 2]: clipped by the env, as Gymnasium's
  });

  it('step before reset and after termination: ResetNeededError', () => {
    const env = makeEnv('MountainCar-v0');
    expect(() => env.step(1)).toThrow('MountainCar-v0: step() was called before reset(); call reset() first');
    let err: unknown;
    try {
      env.step(1);
    } catch (e) {
      err = e;
    }
    expect(ResetNeededError.isInstance(err)).toBe(true);
    const unwrapped = env.unwrapped as unknown as { setState(s: number[]): void };
    unwrapped.setState([0.55, 0.05]);
    expect(env.step(2).terminated).toBe(true);
    expect(() => env.step(2)).toThrow(
      'MountainCar-v0: step() was called after the episode terminated; call reset() first',
    );
  });
});
