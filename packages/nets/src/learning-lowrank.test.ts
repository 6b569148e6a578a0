import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@hypernets/core';
import { LowRankHyperNet } from './lowrank.js';
import type { MLPHyperNetBase } from './base.js';
import { target, train } from './testing/sine-task.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('sine regression conditioned on amplitude and phase', () => {
  // Target MLP 1-16-16-1: at rank 4 only fc2 [16, 16] saves outputs ((16+16)·4 = 128 < 256)
  // and is generated as A Bᵀ; fc1 [1, 16], fc3 [16, 1] and the biases are direct.
  const cases: [string, () => MLPHyperNetBase, number][] = [
    [
      'LowRankHyperNet r=4',
      () => new LowRankHyperNet({ target, conditionSize: 2, hiddenSizes: [32, 32], rank: 4, seed: 1 }),
      0.1,
    ],
    [
      'LowRankHyperNet r=4 + MIP',
      () => new LowRankHyperNet({ target, conditionSize: 2, hiddenSizes: [32, 32], rank: 4, mip: true, seed: 1 }),
      0.1,
    ],
  ];
  for (const [label, make, bound] of cases)
    it(`${label} reaches test MSE < ${bound} in 150 steps`, async ({ annotate }) => {
      const h = make();
      expect((h as LowRankHyperNet).factorization.find((f) => f.name === 'fc2.weight')!.rank).toBe(4);
      const { final } = await train(h, 150);
      await annotate(`${label}: test MSE ${final.toFixed(4)} after 150 steps (baseline 0.875)`);
      expect(final).toBeLessThan(bound);
      h.dispose();
    });
});
