import { describe, expect, it } from 'vitest';
import { gae } from './gae.js';

describe('gae (CleanRL’s GAE over a [T, N] rollout)', () => {
  // T = 4 steps, N = 2 envs, γ = 0.9, λ = 0.8 (γλ = 0.72). Arrays are [T, N] row-major.
  // env 0: rewards 1, 2, 3, 4; values 0.5, 1, 1.5, 2; observation 2 starts a new episode (the step
  //        from observation 1 ended one); after the last step V = 3, not done.
  // env 1: rewards 1 each, values 0; no episode end inside; the last step ended an episode (V = 10 ignored).
  const base = {
    numSteps: 4,
    numEnvs: 2,
    rewards: [1, 1, 2, 1, 3, 1, 4, 1],
    values: [0.5, 0, 1, 0, 1.5, 0, 2, 0],
    dones: [0, 0, 0, 0, 1, 0, 0, 0],
    nextValues: [3, 10],
    nextDones: [0, 1],
    gamma: 0.9,
    lambda: 0.8,
  };

  it('matches the hand computation, a done in the middle cutting the return', () => {
    const { advantages, returns } = gae(base);
    // env 0, backwards: δ3 = 4 + 0.9·3 − 2 = 4.7; δ2 = 3 + 0.9·2 − 1.5 = 3.3, A2 = 3.3 + 0.72·4.7 = 6.684;
    // step 1 ended the episode: δ1 = 2 − 1 = 1, A1 = 1; δ0 = 1 + 0.9·1 − 0.5 = 1.4, A0 = 1.4 + 0.72·1 = 2.12.
    const a0 = [2.12, 1, 6.684, 4.7];
    // env 1: next_done = 1, so A3 = 1; A2 = 1 + 0.72; A1 = 1 + 0.72·1.72; A0 = 1 + 0.72·2.2384.
    const a1 = [2.611648, 2.2384, 1.72, 1];
    for (let t = 0; t < 4; t++) {
      expect(advantages[t * 2]).toBeCloseTo(a0[t]!, 5);
      expect(advantages[t * 2 + 1]).toBeCloseTo(a1[t]!, 5);
      expect(returns[t * 2]).toBeCloseTo(a0[t]! + base.values[t * 2]!, 5);
      expect(returns[t * 2 + 1]).toBeCloseTo(a1[t]!, 5);
    }
  });

  it('a truncation bootstraps from V(final observation) when given (SB3), else cuts like a termination (CleanRL)', () => {
    // The same rollout, the episode end at step 1 now a truncation whose final observation has V = 5.
    const truncationValues = [0, 0, 5, 0, 0, 0, 0, 0];
    const { advantages } = gae({ ...base, truncationValues });
    // r1 + γ·5 = 6.5: δ1 = 6.5 − 1 = 5.5 = A1; A0 = 1.4 + 0.72·5.5 = 5.36; steps 2, 3 unchanged.
    expect(advantages[2]).toBeCloseTo(5.5, 5);
    expect(advantages[0]).toBeCloseTo(5.36, 5);
    expect(advantages[4]).toBeCloseTo(6.684, 5);
    expect(advantages[6]).toBeCloseTo(4.7, 5);
    // env 1 untouched
    expect(advantages[1]).toBeCloseTo(2.611648, 5);
  });

  it('λ = 1 gives discounted returns minus values; λ = 0 the one-step TD errors', () => {
    const one = gae({ ...base, lambda: 1 });
    // env 0 from step 2 on: R2 = 3 + 0.9·(4 + 0.9·3) = 9.03
    expect(one.returns[4]).toBeCloseTo(9.03, 5);
    const zero = gae({ ...base, lambda: 0 });
    expect(zero.advantages[4]).toBeCloseTo(3.3, 5);
    expect(zero.advantages[0]).toBeCloseTo(1.4, 5);
  });

  it('refuses arrays of the wrong length, naming them', () => {
    expect(() => gae({ ...base, rewards: [1, 2, 3] })).toThrow(/rewards.*3 values; expected 8/);
    expect(() => gae({ ...base, nextValues: [1] })).toThrow(/nextValues.*expected 2/);
  });
});
