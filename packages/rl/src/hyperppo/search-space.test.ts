import { ConfigError, Rng } from '@hypernets/core';
import { describe, expect, it } from 'vitest';
import { ArchitectureSpace, policyParameterCount } from './search-space.js';

describe('ArchitectureSpace', () => {
  const space = new ArchitectureSpace({ observationSize: 17, actionSize: 6 });

  it("holds the paper's 2,800 architectures, smallest first, each counted by hand's formula", () => {
    expect(space.size).toBe(7 + 49 + 343 + 2401);
    expect(space.architectures[0]).toEqual([4]);
    expect(space.architectures[space.size - 1]).toEqual([256, 256, 256, 256]);
    // (17 + 1)·64 + (64 + 1)·64 + (64 + 1)·6 = 1152 + 4160 + 390
    expect(policyParameterCount([64, 64], 17, 6)).toBe(5702);
    expect(space.parameterCounts[space.indexOf([64, 64])]).toBe(5702);
    for (let i = 1; i < space.size; i++)
      expect(space.parameterCounts[i]).toBeGreaterThanOrEqual(space.parameterCounts[i - 1]!);
    expect(() => space.indexOf([5])).toThrow(ConfigError);
  });

  it('biased sampling puts equal mass on each depth and draws distinct architectures', () => {
    const mass = [0, 0, 0, 0];
    space.architectures.forEach((a, i) => (mass[a.length - 1] += space.biasedProbabilities[i]!));
    for (const m of mass) expect(m).toBeCloseTo(0.25, 12);
    const rng = new Rng(0);
    const depths = [0, 0, 0, 0];
    for (let k = 0; k < 500; k++) {
      const s = space.sample(rng, 8, 'biased');
      expect(new Set(s).size).toBe(8);
      for (const i of s) depths[space.architectures[i]!.length - 1]++;
    }
    // 4,000 draws, 1,000 expected per depth (without replacement, slightly flattened)
    for (const d of depths) expect(Math.abs(d - 1000)).toBeLessThan(120);
    const uniformDepth4 = Array.from(space.sample(new Rng(1), 400, 'uniform')).filter(
      (i) => space.architectures[i]!.length === 4,
    ).length;
    expect(uniformDepth4 / 400).toBeGreaterThan(0.8); // 2401 / 2800 = 0.86 of the space is depth 4
  });

  it('a stratified sample spreads evenly over depths and sizes', () => {
    const s = space.stratified(300);
    expect(s.length).toBe(300);
    expect(new Set(s).size).toBe(300);
    const perDepth = [0, 0, 0, 0];
    for (const i of s) perDepth[space.architectures[i]!.length - 1]++;
    expect(perDepth).toEqual([7, 49, 122, 122]); // depths 1 and 2 have fewer than 75: all of them, the rest shared
    expect(Array.from(s)).toContain(space.indexOf([256, 256, 256, 256]));
    expect(Array.from(s)).toContain(space.indexOf([4, 4, 4, 4]));
    expect(space.stratified(5000).length).toBe(2800);
  });
});
