import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, initBackend } from '@hypernets/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContextMlp, HyperZero, disposePrepared, type ZeroShotModel } from './model.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst).toBeLessThan(tol);
};

describe('HyperZero', () => {
  it('generates every weight of the policy s → h → a and the Q-function [s, a] → h → 1 per context', () => {
    const m = new HyperZero({ contextSize: 2, observationSize: 3, actionSize: 1, seed: 1 });
    expect(m.config).toMatchObject({ embedSize: 256, hiddenSize: 256, withQ: true });
    const before = tf.memory().numTensors;
    const g = m.generate(
      tf.tensor2d([
        [0.6, 1],
        [1, 1.4],
        [1.4, 0.6],
      ]),
    );
    expect(Object.fromEntries(Object.entries(g.policy).map(([k, v]) => [k, v.shape]))).toEqual({
      'fc1.weight': [3, 3, 256],
      'fc1.bias': [3, 256],
      'fc2.weight': [3, 256, 1],
      'fc2.bias': [3, 1],
    });
    expect(Object.fromEntries(Object.entries(g.q!).map(([k, v]) => [k, v.shape]))).toEqual({
      'fc1.weight': [3, 4, 256],
      'fc1.bias': [3, 256],
      'fc2.weight': [3, 256, 1],
      'fc2.bias': [3, 1],
    });
    tf.dispose([...Object.values(g.policy), ...Object.values(g.q!)]);
    expect(tf.memory().numTensors).toBe(before + 1); // the contexts tensor above
    // embedding: ψ→64, 2 blocks of 2×(64→64), 64→128, 2 blocks, 128→256, 2 blocks; heads z → in·out and z → out
    const lin = (i: number, o: number) => i * o + o;
    const embed = lin(2, 64) + 4 * lin(64, 64) + lin(64, 128) + 4 * lin(128, 128) + lin(128, 256) + 4 * lin(256, 256);
    const heads = (i: number, o: number) => lin(256, i * o) + lin(256, o);
    expect(m.parameterCount).toBe(embed + heads(3, 256) + heads(256, 1) + heads(4, 256) + heads(256, 1));
    const noQ = new HyperZero({ contextSize: 2, observationSize: 3, actionSize: 1, withQ: false });
    expect(noQ.parameterCount).toBe(embed + heads(3, 256) + heads(256, 1));
    expect(noQ.qNet).toBeNull();
    m.dispose();
    noQ.dispose();
  });

  it('initialises as the reference: embedding U(±1/(2√fan-in)), heads U(±0.05) and U(±0.008) with zero biases', async () => {
    const m = new HyperZero({ contextSize: 2, observationSize: 3, actionSize: 1, embedSize: 16, hiddenSize: 8 });
    const bound = async (name: string) => Math.max(...Array.from(await m.variables[name]!.data(), Math.abs));
    expect(await bound('embed.s1.in.weight')).toBeLessThanOrEqual(1 / (2 * Math.sqrt(2)));
    expect(await bound('embed.s1.in.weight')).toBeGreaterThan(0.5 / (2 * Math.sqrt(2)));
    expect(await bound('embed.s3.res2.fc2.weight')).toBeLessThanOrEqual(1 / (2 * Math.sqrt(16)));
    expect(await bound('embed.s3.res2.fc2.bias')).toBeLessThanOrEqual(1 / Math.sqrt(16));
    expect(await bound('policy.fc1.weight.head.weight')).toBeLessThanOrEqual(0.05);
    expect(await bound('policy.fc1.weight.head.weight')).toBeGreaterThan(0.04);
    expect(await bound('q.fc2.bias.head.weight')).toBeLessThanOrEqual(0.008);
    expect(await bound('q.fc2.bias.head.bias')).toBe(0);
    expect(await bound('policy.fc1.weight.head.bias')).toBe(0);
    m.dispose();
  });

  it('lays a generated weight out as the reference views it (torch [out, in]), transposed to [in, out]', async () => {
    const m = new HyperZero({ contextSize: 1, observationSize: 3, actionSize: 2, embedSize: 8, hiddenSize: 5 });
    const ctx = tf.tensor2d([[0.7]]);
    const p = m.prepare(ctx);
    const flat = tf.tidy(() =>
      tf.add(
        tf.matMul(p.z, m.variables['policy.fc1.weight.head.weight']!),
        m.variables['policy.fc1.weight.head.bias']!,
      ),
    );
    const f = await flat.data();
    const w = await p.policy!['fc1.weight']!.data(); // [1, in 3, out 5]
    for (let i = 0; i < 3; i++) for (let o = 0; o < 5; o++) expect(w[i * 5 + o]).toBeCloseTo(f[o * 3 + i]!, 6);
    disposePrepared(p);
    tf.dispose([ctx, flat]);
    m.dispose();
  });
});

describe('one batched pass over many contexts', () => {
  const contexts = [
    [0.6, 1.0],
    [1.2, 0.8],
    [1.4, 1.4],
  ];
  const obs = Array.from({ length: 12 }, (_, i) => [Math.cos(i), Math.sin(i), (i % 5) - 2]);
  const acts = Array.from({ length: 12 }, (_, i) => [Math.sin(3 * i) * 0.9]);
  const index = [0, 2, 1, 1, 0, 2, 2, 0, 1, 0, 2, 1];

  /** Each sample alone: its context prepared alone, one row, shared (unbatched) weights where the model generates them. */
  async function separately(m: ZeroShotModel): Promise<{ a: number[]; q: number[] }> {
    const a: number[] = [];
    const q: number[] = [];
    for (let i = 0; i < obs.length; i++) {
      const out = tf.tidy(() => {
        const ctx = tf.tensor2d([contexts[index[i]!]!]);
        const x = tf.tensor2d([obs[i]!]);
        const u = tf.tensor2d([acts[i]!]);
        const p = m.prepare(ctx);
        if (m instanceof HyperZero) {
          // the generated nets run with plain [in, out] weights: no per-sample path at all
          const unbatch = (w: Record<string, tf.Tensor>) =>
            Object.fromEntries(Object.entries(w).map(([k, v]) => [k, tf.squeeze(v, [0])]));
          return [m.policyNet.forward(x, unbatch(p.policy!)), m.qNet!.forward(tf.concat([x, u], 1), unbatch(p.q!))];
        }
        const zero = tf.tensor1d([0], 'int32');
        return [m.act(p, x, zero), m.q(p, x, u, zero)];
      });
      a.push((await out[0]!.data())[0]!);
      q.push((await out[1]!.data())[0]!);
      tf.dispose(out);
    }
    return { a, q };
  }

  for (const [name, make] of [
    ['HyperZero', () => new HyperZero({ contextSize: 2, observationSize: 3, actionSize: 1, seed: 3 })],
    ['ContextMlp', () => new ContextMlp({ contextSize: 2, observationSize: 3, actionSize: 1, seed: 3 })],
  ] as const)
    it(`equals each context run separately (${name})`, async () => {
      const m = make();
      const before = tf.memory().numTensors;
      const ctx = tf.tensor2d(contexts);
      const x = tf.tensor2d(obs);
      const u = tf.tensor2d(acts);
      const idx = tf.tensor1d(index, 'int32');
      const p = m.prepare(ctx);
      const a = m.act(p, x, idx);
      const q = m.q(p, x, u, idx);
      expect(a.shape).toEqual([12, 1]);
      expect(q.shape).toEqual([12]);
      const want = await separately(m);
      close(await a.data(), want.a, 1e-5);
      close(await q.data(), want.q, 1e-5);
      // the outputs differ across contexts (the context is not ignored)
      expect(new Set(Array.from(await a.data(), (v) => v.toFixed(6))).size).toBeGreaterThan(6);
      disposePrepared(p);
      tf.dispose([ctx, x, u, idx, a, q]);
      expect(tf.memory().numTensors).toBe(before);
      m.dispose();
    });

  it('refuses bad shapes and a Q query on a policy-only model', () => {
    const m = new ContextMlp({ contextSize: 2, observationSize: 3, actionSize: 1, withQ: false });
    const p = m.prepare(tf.tensor2d(contexts));
    expect(() => m.act(p, tf.tensor2d([[1, 2]]), tf.tensor1d([0], 'int32'))).toThrow(/observations/);
    expect(() => m.act(p, tf.tensor2d([[1, 2, 3]]), tf.tensor1d([0, 1], 'int32'))).toThrow(/context index/);
    expect(() => m.q(p, tf.tensor2d([[1, 2, 3]]), tf.tensor2d([[0]]), tf.tensor1d([0], 'int32'))).toThrow(/withQ/);
    expect(() => m.prepare(tf.tensor2d([[1, 2, 3]]))).toThrow(/contexts/);
    expect(() => new HyperZero({ contextSize: 2, observationSize: 3, actionSize: 1, embedSize: 10 })).toThrow(
      ConfigError,
    );
    disposePrepared(p);
    m.dispose();
  });
});
