import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, initBackend } from '@hypernets/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { zeroShotLoss, tdError, type ZeroShotBatch } from './loss.js';
import { ContextMlp, HyperZero, disposePrepared, type ZeroShotModel } from './model.js';

beforeAll(async () => {
  await initBackend('cpu');
});

// A tiny batch: 2 contexts, 5 transitions, observations of 2, actions of 1.
const contexts = [[0.7], [1.3]];
const S = [
  [0.3, -0.2],
  [1.0, 0.5],
  [-0.4, 0.9],
  [0.2, 0.2],
  [-1.1, 0.0],
];
const A = [[0.5], [-0.3], [0.9], [0.0], [-0.8]];
const R = [-1.0, -0.5, -2.0, -0.1, -3.0];
const S2 = [
  [0.1, 0.4],
  [0.8, -0.6],
  [-0.2, 1.2],
  [0.3, -0.1],
  [-0.9, 0.3],
];
const D = [0.9, 0.9, 0.9, 0.0, 0.9];
const Q = [-4.0, -2.5, -7.0, -0.3, -9.0];
const IDX = [0, 1, 1, 0, 1];

function batch(): ZeroShotBatch {
  return {
    states: tf.tensor2d(S),
    actions: tf.tensor2d(A),
    rewards: tf.tensor1d(R),
    nextStates: tf.tensor2d(S2),
    discounts: tf.tensor1d(D),
    values: tf.tensor1d(Q),
    index: tf.tensor1d(IDX, 'int32'),
  };
}

// ---- the hand computation: the reference's modules in float64 on host arrays ----

type Vars = Record<string, Float64Array>;
async function hostVars(m: ZeroShotModel): Promise<Vars> {
  const out: Vars = {};
  for (const [k, v] of Object.entries(m.variables)) out[k] = Float64Array.from(await v.data());
  return out;
}
/** x [in] · W [in, out] + b (tfjs layout: W row-major [in, out]). */
function lin(x: number[], w: Float64Array, b: Float64Array): number[] {
  const out = Array.from(b);
  const n = out.length;
  x.forEach((xi, i) => {
    for (let o = 0; o < n; o++) out[o]! += xi * w[i * n + o]!;
  });
  return out;
}
const relu = (x: number[]) => x.map((v) => Math.max(v, 0));
function metaEmbed(v: Vars, ctx: number[]): number[] {
  let x = ctx;
  for (const s of ['s1', 's2', 's3']) {
    x = lin(x, v[`embed.${s}.in.weight`]!, v[`embed.${s}.in.bias`]!);
    for (const r of ['res1', 'res2']) {
      const h1 = lin(relu(x), v[`embed.${s}.${r}.fc1.weight`]!, v[`embed.${s}.${r}.fc1.bias`]!);
      const h2 = lin(relu(h1), v[`embed.${s}.${r}.fc2.weight`]!, v[`embed.${s}.${r}.fc2.bias`]!);
      x = x.map((xi, i) => xi + h2[i]!);
    }
  }
  return x;
}
/** The reference's dynamic layer: W = head(z).view(out, in), b = head_b(z); y = W x + b. */
function dynamicLayer(v: Vars, z: number[], name: string, x: number[]): number[] {
  const flat = lin(z, v[`${name}.weight.head.weight`]!, v[`${name}.weight.head.bias`]!);
  const b = lin(z, v[`${name}.bias.head.weight`]!, v[`${name}.bias.head.bias`]!);
  const inSize = x.length;
  return b.map((bo, o) => x.reduce((s, xi, i) => s + flat[o * inSize + i]! * xi, bo));
}
function hostModel(m: ZeroShotModel, v: Vars) {
  if (m instanceof HyperZero)
    return {
      pi: (c: number[], s: number[]) => {
        const z = metaEmbed(v, c);
        return dynamicLayer(v, z, 'policy.fc2', relu(dynamicLayer(v, z, 'policy.fc1', s))).map(Math.tanh);
      },
      q: (c: number[], s: number[], a: number[]) => {
        const z = metaEmbed(v, c);
        return dynamicLayer(v, z, 'q.fc2', relu(dynamicLayer(v, z, 'q.fc1', [...s, ...a])))[0]!;
      },
    };
  const mlp = (prefix: string, x: number[]) =>
    lin(
      relu(lin(x, v[`${prefix}.fc1.weight`]!, v[`${prefix}.fc1.bias`]!)),
      v[`${prefix}.fc2.weight`]!,
      v[`${prefix}.fc2.bias`]!,
    );
  return {
    pi: (c: number[], s: number[]) => mlp('policy', [...metaEmbed(v, c), ...s]).map(Math.tanh),
    q: (c: number[], s: number[], a: number[]) => mlp('q', [...metaEmbed(v, c), ...s, ...a])[0]!,
  };
}
function handLoss(m: ZeroShotModel, v: Vars) {
  const f = hostModel(m, v);
  const n = S.length;
  let action = 0;
  let value = 0;
  let td = 0;
  for (let i = 0; i < n; i++) {
    const c = contexts[IDX[i]!]!;
    action += (f.pi(c, S[i]!)[0]! - A[i]![0]!) ** 2;
    value += (f.q(c, S[i]!, A[i]!) - Q[i]!) ** 2;
    const target = R[i]! + D[i]! * f.q(c, S2[i]!, f.pi(c, S2[i]!));
    td += (Q[i]! - target) ** 2;
  }
  return { action: action / n, value: value / n, td: td / n };
}

const models: [string, () => ZeroShotModel][] = [
  [
    'HyperZero',
    () => new HyperZero({ contextSize: 1, observationSize: 2, actionSize: 1, embedSize: 8, hiddenSize: 4, seed: 5 }),
  ],
  [
    'ContextMlp',
    () => new ContextMlp({ contextSize: 1, observationSize: 2, actionSize: 1, embedSize: 8, hiddenSize: 4, seed: 5 }),
  ],
];

describe('zeroShotLoss', () => {
  for (const [name, make] of models)
    it(`is ‖π̂ − a*‖² + 0.01‖Q̂ − Q*‖² + 0.01·TD as computed by hand (${name})`, async () => {
      const m = make();
      const want = handLoss(m, await hostVars(m));
      expect(want.value).toBeGreaterThan(1); // a non-trivial check: the terms are far from 0
      const before = tf.memory().numTensors;
      const b = batch();
      const ctx = tf.tensor2d(contexts);
      const p = m.prepare(ctx);
      const t = zeroShotLoss(m, p, b);
      const got = {
        loss: (await t.loss.data())[0]!,
        action: (await t.action.data())[0]!,
        value: (await t.value!.data())[0]!,
        td: (await t.td!.data())[0]!,
      };
      const rel = (x: number, y: number) => Math.abs(x - y) / Math.max(1, Math.abs(y));
      expect(rel(got.action, want.action)).toBeLessThan(1e-5);
      expect(rel(got.value, want.value)).toBeLessThan(1e-5);
      expect(rel(got.td, want.td)).toBeLessThan(1e-5);
      expect(rel(got.loss, want.action + 0.01 * want.value + 0.01 * want.td)).toBeLessThan(1e-5);
      // without the TD term (the reference's hyperzero_without_td / mlp_rl), and other weights
      const noTd = zeroShotLoss(m, p, b, { useTd: false, valueWeight: 0.5 });
      expect(noTd.td).toBeNull();
      expect(rel((await noTd.loss.data())[0]!, want.action + 0.5 * want.value)).toBeLessThan(1e-5);
      tf.dispose([t.loss, t.action, t.value!, t.td!, noTd.loss, noTd.action, noTd.value!, ctx]);
      disposePrepared(p);
      tf.dispose(Object.values(b));
      expect(tf.memory().numTensors).toBe(before);
      m.dispose();
    });

  it('is the action term alone for a policy-only model, and refuses the TD term there', async () => {
    const m = new HyperZero({
      contextSize: 1,
      observationSize: 2,
      actionSize: 1,
      embedSize: 8,
      hiddenSize: 4,
      withQ: false,
      seed: 5,
    });
    const full = new HyperZero({
      contextSize: 1,
      observationSize: 2,
      actionSize: 1,
      embedSize: 8,
      hiddenSize: 4,
      seed: 5,
    });
    const b = batch();
    const p = m.prepare(tf.tensor2d(contexts));
    const t = zeroShotLoss(m, p, b);
    expect(t.value).toBeNull();
    expect(t.td).toBeNull();
    // the same seed draws the same embedding and policy heads first: the same action term
    const want = handLoss(full, await hostVars(full)).action;
    expect((await t.loss.data())[0]!).toBeCloseTo(want, 5);
    expect(() => zeroShotLoss(m, p, b, { useTd: true })).toThrow(ConfigError);
    m.dispose();
    full.dispose();
  });
});

describe('the TD term', () => {
  it('is (Q* − (r + γ·Q̂(s′, π̂(s′))))² by hand, and its gradient reaches the Q-function, never the policy', async () => {
    const m = new HyperZero({
      contextSize: 1,
      observationSize: 2,
      actionSize: 1,
      embedSize: 8,
      hiddenSize: 4,
      seed: 9,
    });
    const want = handLoss(m, await hostVars(m)).td;
    const b = batch();
    const ctx = tf.tensor2d(contexts);
    const before = tf.memory().numTensors;
    const names = Object.keys(m.variables);
    const { value, grads } = tf.variableGrads(() => {
      const p = m.prepare(ctx);
      return tdError(m, p, b);
    }, Object.values(m.variables));
    expect(Math.abs((await value.data())[0]! - want) / Math.max(1, want)).toBeLessThan(1e-5);
    const norm = async (k: string) => {
      const g = grads[m.variables[k]!.name];
      return g ? Math.max(...Array.from(await g.data(), Math.abs)) : 0;
    };
    for (const k of names.filter((n) => n.startsWith('policy.'))) expect(await norm(k)).toBe(0);
    expect(await norm('q.fc1.weight.head.weight')).toBeGreaterThan(0);
    expect(await norm('q.fc2.bias.head.bias')).toBeGreaterThan(0);
    expect(await norm('embed.s3.res2.fc2.weight')).toBeGreaterThan(0); // through the shared embedding
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ctx, ...Object.values(b)]);
    m.dispose();
  });

  it('uses the discount of each transition (0 after a termination: the target is r alone)', async () => {
    const m = new ContextMlp({
      contextSize: 1,
      observationSize: 2,
      actionSize: 1,
      embedSize: 8,
      hiddenSize: 4,
      seed: 2,
    });
    const one = (d: number) =>
      tf.tidy(() => {
        const p = m.prepare(tf.tensor2d([[1.0]]));
        const b: ZeroShotBatch = {
          states: tf.tensor2d([S[0]!]),
          actions: tf.tensor2d([A[0]!]),
          rewards: tf.tensor1d([-1.5]),
          nextStates: tf.tensor2d([S2[0]!]),
          discounts: tf.tensor1d([d]),
          values: tf.tensor1d([-4]),
          index: tf.tensor1d([0], 'int32'),
        };
        return tdError(m, p, b);
      });
    const t0 = one(0);
    expect((await t0.data())[0]!).toBeCloseTo((-4 - -1.5) ** 2, 5);
    const t1 = one(0.5);
    expect((await t1.data())[0]!).not.toBeCloseTo((-4 - -1.5) ** 2, 3);
    tf.dispose([t0, t1]);
    m.dispose();
  });
});
