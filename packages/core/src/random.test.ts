import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from './random.js';
import { initWeights, targetVariance } from './init.js';
import { paramSpec } from './params.js';

describe('Rng', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('same seed, same numbers: ints, floats, shuffles, tensors, dropout masks', async () => {
    const draw = async (seed: number) => {
      const r = new Rng(seed);
      const ints = [r.nextInt(), r.int(0, 9), r.uniform()];
      const perm = Array.from(r.permutation(10));
      const n = await r.normal([4]).data();
      const m = await r.dropoutMask([8], 0.5).data();
      return { ints, perm, n: Array.from(n), m: Array.from(m) };
    };
    const a = await draw(42);
    const b = await draw(42);
    const c = await draw(43);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.perm.slice().sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
    expect(new Set(a.m)).toEqual(new Set([0, 2]));
  });

  it('saved state continues the same stream', () => {
    const r = new Rng(7);
    r.nextInt();
    const state = r.getState();
    const next = [r.nextInt(), r.uniform()];
    const resumed = new Rng(state);
    expect([resumed.nextInt(), resumed.uniform()]).toEqual(next);
  });

  it('normalArray / uniformArray give exactly the values of tf.randomNormal / tf.randomUniform (same seed)', async () => {
    // Results recorded in the READMEs depend on these draws: the JS arrays must be bit-identical.
    for (const [seed, shape, a, b] of [
      [1, [7], 0, 1],
      [42, [3, 5], 0.5, 2],
      [2024, [4, 4, 3], -1, 0.1],
      [123456789, [1001], 0, Math.sqrt(2 / 300)],
    ] as [number, number[], number, number][]) {
      const r1 = new Rng(seed);
      const r2 = new Rng(seed);
      const tn = r1.normal(shape, a, b);
      const tu = r1.uniformTensor(shape, a, a + b);
      const an = r2.normalArray(shape, a, b);
      const au = r2.uniformArray(shape, a, a + b);
      expect(an).toBeInstanceOf(Float32Array);
      expect(Array.from(an)).toEqual(Array.from(await tn.data()));
      expect(Array.from(au)).toEqual(Array.from(await tu.data()));
      expect(r1.nextInt()).toBe(r2.nextInt()); // each consumes one seed from the stream
      tf.dispose([tn, tu]);
    }
    // tfjs seeds with Math.random() for seed 0; the direct seeds below cover small and odd ones.
    for (const seed of [1, 3, 0x7fffffff]) {
      const want = await tf.randomNormal([9], 0, 1, 'float32', seed).data();
      const r = new Rng(0);
      r.seed = () => seed;
      expect(Array.from(r.normalArray([9]))).toEqual(Array.from(want));
    }
  });

  it('uniform() is in [0,1) with mean ≈ 0.5', () => {
    const r = new Rng(1);
    let s = 0;
    for (let i = 0; i < 20000; i++) {
      const u = r.uniform();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      s += u;
    }
    expect(Math.abs(s / 20000 - 0.5)).toBeLessThan(0.01);
  });
});

describe('init', () => {
  it('draws weights with the Kaiming / Xavier variance and zero/one for bias/norm', async () => {
    const specs = [
      paramSpec({
        name: 'a',
        shape: [400, 300],
        kind: 'weight',
        layer: 0,
        fanIn: 400,
        fanOut: 300,
        activation: 'relu',
      }),
      paramSpec({
        name: 'b',
        shape: [400, 300],
        kind: 'weight',
        layer: 1,
        fanIn: 400,
        fanOut: 300,
        activation: 'tanh',
      }),
      paramSpec({
        name: 'c',
        shape: [3, 3, 16, 32],
        kind: 'weight',
        layer: 2,
        fanIn: 144,
        fanOut: 288,
        activation: 'relu',
      }),
      paramSpec({ name: 'd', shape: [300], kind: 'bias', layer: 0, fanIn: 400, fanOut: 300 }),
      paramSpec({ name: 'e', shape: [32], kind: 'norm-scale', layer: 2, fanIn: 32, fanOut: 32 }),
    ];
    const w = initWeights(specs, new Rng(3));
    for (const s of specs) {
      const v = await tf.moments(w[s.name]).variance.data();
      const want = targetVariance(s);
      if (want === 0) continue;
      expect(Math.abs(v[0] / want - 1)).toBeLessThan(0.05);
    }
    expect(Array.from(await w.d.data()).every((x) => x === 0)).toBe(true);
    expect(Array.from(await w.e.data()).every((x) => x === 1)).toBe(true);
    tf.dispose(Object.values(w));
  });
});
