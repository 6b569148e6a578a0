import { beforeAll, describe, expect, it } from 'vitest';
import { MLP, initBackend, resnet20, targetVariance, type TargetNet } from '@hypernets/core';
import { HyperMLP } from './hmlp.js';
import { ChunkedHyperMLP } from './chunked.js';
import { expectHyperfan, measure, report } from './testing/helpers.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('hyperfan-in init', () => {
  it('HyperMLP → MLP 784-100-100-10: every tensor within 20% of the target init variance', () => {
    const target: TargetNet = new MLP({ inputSize: 784, hiddenSizes: [100, 100], outputSize: 10 });
    const acc = measure(
      (seed) => new HyperMLP({ target, numConditions: 8, seed }),
      target.params,
      [1, 2],
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    expectHyperfan(report('HyperMLP / MLP 784-100-100-10', target.params, acc), 1e-4);
  });

  it('HyperMLP → ResNet-20: conv, fc and batch-norm tensors match the target init', () => {
    const target = resnet20();
    const acc = measure(
      (seed) => new HyperMLP({ target, numConditions: 4, hiddenSizes: [32, 32], seed }),
      target.params,
      [1, 2, 3, 4, 5, 6],
      [0, 1, 2, 3],
    );
    expectHyperfan(report('HyperMLP / ResNet-20', target.params, acc), 1e-4);
  });

  it('hyperfan-out gives generated weights variance 2/fanOut for Kaiming targets', async ({ annotate }) => {
    const target = new MLP({ inputSize: 64, hiddenSizes: [32], outputSize: 4 });
    const acc = measure(
      (seed) => new HyperMLP({ target, numConditions: 8, init: 'hyperfan-out', seed }),
      target.params,
      [1, 2, 3],
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    const fc1 = target.params[0];
    const ratio = acc[fc1.name].variance / (2 / fc1.fanOut);
    await annotate(`hyperfan-out fc1: var/(2/fanOut) = ${ratio.toFixed(3)}`);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
  });

  it('ChunkedHyperMLP heuristic: total generated variance matches the target on average (per-tensor ratios reported)', async ({
    annotate,
  }) => {
    const target = new MLP({ inputSize: 784, hiddenSizes: [100, 100], outputSize: 10 });
    const acc = measure(
      (seed) => new ChunkedHyperMLP({ target, numConditions: 4, chunkSize: 4000, seed }),
      target.params,
      [1, 2],
      [0, 1, 2, 3],
    );
    const rows = report('ChunkedHyperMLP (chunk 4000) / MLP 784-100-100-10', target.params, acc);
    // Entry-weighted average of generated variance equals that of the target init (±20%).
    let gen = 0;
    let want = 0;
    for (const s of target.params) {
      const n = s.shape.reduce((a, b) => a + b * 1, 0) && s.shape.reduce((a, b) => a * b, 1);
      gen += n * acc[s.name].variance;
      want += n * (targetVariance(s) || 1e-4);
    }
    await annotate(`chunked: entry-weighted generated/target variance = ${(gen / want).toFixed(3)}`);
    expect(gen / want).toBeGreaterThan(0.8);
    expect(gen / want).toBeLessThan(1.2);
    expect(rows.length).toBe(6);
  });
});

describe("'xavier' init (hypercl's)", () => {
  it('every hypernetwork weight Xavier-uniform (variance 2/(fanIn+fanOut), within ±√(6/(fanIn+fanOut))), biases 0, embeddings N(0, 1)', () => {
    const target = new MLP({ inputSize: 64, hiddenSizes: [32], outputSize: 4 });
    const h = new ChunkedHyperMLP({
      target,
      numConditions: 10,
      embeddingSize: 24,
      chunkEmbeddingSize: 8,
      hiddenSizes: [25, 25],
      activation: 'elu',
      chunkSize: 600,
      init: 'xavier',
      seed: 3,
    });
    const w = h.ownWeights();
    for (const s of h.params) {
      const v = Array.from(w[s.name]!.dataSync());
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
      if (s.kind === 'bias')
        expect(
          v.every((x) => x === 0),
          s.name,
        ).toBe(true);
      else if (s.kind === 'embedding') {
        expect(Math.abs(variance - 1), s.name).toBeLessThan(0.3);
      } else {
        const want = 2 / (s.fanIn + s.fanOut);
        const lim = Math.sqrt(3 * want);
        expect(
          v.every((x) => Math.abs(x) <= lim + 1e-7),
          s.name,
        ).toBe(true);
        expect(Math.abs(variance / want - 1), `${s.name}: variance ${variance} vs ${want}`).toBeLessThan(0.25);
      }
    }
    h.dispose();
  });
});
