import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@hypernets/core';
import { ChunkedHyperMLP } from './chunked.js';
import type { MLPHyperNetBase } from './base.js';
import { target, train } from './testing/sine-task.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('sine regression conditioned on amplitude and phase', () => {
  const cases: [string, () => MLPHyperNetBase, number][] = [
    [
      'ChunkedHyperMLP',
      () => new ChunkedHyperMLP({ target, conditionSize: 2, hiddenSizes: [32, 32], chunkSize: 128, seed: 1 }),
      0.1,
    ],
    [
      'ChunkedHyperMLP + MIP',
      () =>
        new ChunkedHyperMLP({ target, conditionSize: 2, hiddenSizes: [32, 32], chunkSize: 128, mip: true, seed: 1 }),
      0.1,
    ],
  ];
  for (const [label, make, bound] of cases)
    it(`${label} reaches test MSE < ${bound} in 120 steps`, async ({ annotate }) => {
      const h = make();
      const { final } = await train(h, 120);
      await annotate(`${label}: test MSE ${final.toFixed(4)} after 120 steps (baseline 0.875)`);
      expect(final).toBeLessThan(bound);
      h.dispose();
    });
});
