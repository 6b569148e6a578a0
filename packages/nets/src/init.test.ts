import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MLP, initBackend, resnet20, targetVariance, type ParamSpec, type TargetNet } from '@hypernets/core';
import { HyperMLP } from './hmlp.js';
import { ChunkedHyperMLP } from './chunked.js';
import type { MLPHyperNetBase } from './base.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** Per ParamSpec: mean (over seeds × conditions) of the generated tensor's mean and variance. */
function measure(make: (seed: number) => MLPHyperNetBase, specs: readonly ParamSpec[], seeds: number[], ids: number[]) {
  const acc: Record<string, { mean: number; variance: number }> = {};
  for (const s of specs) acc[s.name] = { mean: 0, variance: 0 };
  const k = seeds.length * ids.length;
  for (const seed of seeds) {
    const h = make(seed);
    const w = h.generate({ id: ids });
    for (const s of specs) {
      const axes = s.shape.map((_, i) => i + 1);
      const { mean, variance } = tf.moments(w[s.name], axes);
      const m = mean.dataSync();
      const v = variance.dataSync();
      for (let i = 0; i < ids.length; i++) {
        acc[s.name].mean += m[i] / k;
        acc[s.name].variance += v[i] / k;
      }
      tf.dispose([mean, variance]);
    }
    tf.dispose(Object.values(w));
    h.dispose();
  }
  return acc;
}

function report(label: string, specs: readonly ParamSpec[], acc: Record<string, { mean: number; variance: number }>) {
  const rows = specs.map((s) => {
    const tv = targetVariance(s);
    return { name: s.name, kind: s.kind, ratio: tv > 0 ? acc[s.name].variance / tv : NaN, mean: acc[s.name].mean, variance: acc[s.name].variance };
  });
  console.log(`${label}\n` + rows.map((r) => `  ${r.name} (${r.kind}): var/target=${r.ratio.toFixed(3)} mean=${r.mean.toFixed(4)} var=${r.variance.toExponential(2)}`).join('\n'));
  return rows;
}

function expectHyperfan(rows: ReturnType<typeof report>, small: number) {
  // Constant-init kinds (bias, norm): pooled per kind, since a 16-entry tensor's sample
  // variance alone is too noisy for a 20% bound.
  const pooled: Record<string, { v: number; n: number }> = {};
  for (const r of rows) {
    if (Number.isFinite(r.ratio)) {
      expect(r.ratio, r.name).toBeGreaterThan(0.8);
      expect(r.ratio, r.name).toBeLessThan(1.2);
    } else {
      // mean is the target's constant (norm-scale 1, bias/shift 0), variance the small one
      expect(Math.abs(r.mean - (r.kind === 'norm-scale' ? 1 : 0)), r.name).toBeLessThan(0.02);
      const p = (pooled[r.kind] ??= { v: 0, n: 0 });
      p.v += r.variance;
      p.n++;
    }
  }
  for (const [kind, p] of Object.entries(pooled)) {
    const ratio = p.v / p.n / small;
    console.log(`  ${kind} (pooled over ${p.n} tensors): var/smallVariance = ${ratio.toFixed(3)}`);
    expect(ratio, kind).toBeGreaterThan(0.8);
    expect(ratio, kind).toBeLessThan(1.2);
  }
}

describe('hyperfan-in init', () => {
  it('HyperMLP → MLP 784-100-100-10: every tensor within 20% of the target init variance', () => {
    const target: TargetNet = new MLP({ inputSize: 784, hiddenSizes: [100, 100], outputSize: 10 });
    const acc = measure((seed) => new HyperMLP({ target, numConditions: 8, seed }), target.params, [1, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
    expectHyperfan(report('HyperMLP / MLP 784-100-100-10', target.params, acc), 1e-4);
  });

  it('HyperMLP → ResNet-20: conv, fc and batch-norm tensors match the target init', () => {
    const target = resnet20();
    const acc = measure((seed) => new HyperMLP({ target, numConditions: 4, hiddenSizes: [32, 32], seed }), target.params, [1, 2], [0, 1, 2, 3]);
    expectHyperfan(report('HyperMLP / ResNet-20', target.params, acc), 1e-4);
  });

  it('hyperfan-out gives generated weights variance 2/fanOut for Kaiming targets', () => {
    const target = new MLP({ inputSize: 64, hiddenSizes: [32], outputSize: 4 });
    const acc = measure((seed) => new HyperMLP({ target, numConditions: 8, init: 'hyperfan-out', seed }), target.params, [1, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7]);
    const fc1 = target.params[0];
    const ratio = acc[fc1.name].variance / (2 / fc1.fanOut);
    console.log(`hyperfan-out fc1: var/(2/fanOut) = ${ratio.toFixed(3)}`);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
  });

  it('ChunkedHyperMLP heuristic: total generated variance matches the target on average (per-tensor ratios reported)', () => {
    const target = new MLP({ inputSize: 784, hiddenSizes: [100, 100], outputSize: 10 });
    const acc = measure((seed) => new ChunkedHyperMLP({ target, numConditions: 4, chunkSize: 4000, seed }), target.params, [1, 2], [0, 1, 2, 3]);
    const rows = report('ChunkedHyperMLP (chunk 4000) / MLP 784-100-100-10', target.params, acc);
    // Entry-weighted average of generated variance equals that of the target init (±20%).
    let gen = 0;
    let want = 0;
    for (const s of target.params) {
      const n = s.shape.reduce((a, b) => a + b * 1, 0) && s.shape.reduce((a, b) => a * b, 1);
      gen += n * acc[s.name].variance;
      want += n * (targetVariance(s) || 1e-4);
    }
    console.log(`chunked: entry-weighted generated/target variance = ${(gen / want).toFixed(3)}`);
    expect(gen / want).toBeGreaterThan(0.8);
    expect(gen / want).toBeLessThan(1.2);
    expect(rows.length).toBe(6);
  });
});
