import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@hypernets/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MlpGhn } from './mlp-ghn.js';
import { padPolicies, paddedForward } from './padded.js';

interface Fixture {
  config: { observationSize: number; actionSize: number; hidden: number; maxWidth: number };
  ghn: Record<string, { shape: number[]; values: number[] }>;
  x: number[][];
  policies: { hidden: number[]; params: { name: string; shape: number[]; values: number[] }[] }[];
  outputs: number[][][];
}

// Recorded from hegde95/HyperPPO's own MLP_GHN by scripts/hyperppo-ghn-fixture.py (torch 1.13).
const fx = JSON.parse(
  readFileSync(new URL('../testing/fixtures/hyperppo-ghn.json', import.meta.url), 'utf8'),
) as Fixture;

/** The reference's parameter names → ours (torch keeps [out, in]; we keep [in, out]). */
const NAMES: Record<string, string> = {
  'shape_enc3.weight': 'shapeEnc.weight',
  'shape_enc3.bias': 'shapeEnc.bias',
  'gnn.mlp.fc.0.weight': 'gnn.mlp1.weight',
  'gnn.mlp.fc.0.bias': 'gnn.mlp1.bias',
  'gnn.mlp.fc.2.weight': 'gnn.mlp2.weight',
  'gnn.mlp.fc.2.bias': 'gnn.mlp2.bias',
  'gnn.gru.weight_ih': 'gnn.gru.ih.weight',
  'gnn.gru.bias_ih': 'gnn.gru.ih.bias',
  'gnn.gru.weight_hh': 'gnn.gru.hh.weight',
  'gnn.gru.bias_hh': 'gnn.gru.hh.bias',
  'ln.weight': 'ln.weight',
  'ln.bias': 'ln.bias',
  'decoder.fc.0.weight': 'decoder.fc.weight',
  'decoder.fc.0.bias': 'decoder.fc.bias',
  'decoder.conv.0.weight': 'decoder.conv1.weight',
  'decoder.conv.0.bias': 'decoder.conv1.bias',
  'decoder.conv.2.weight': 'decoder.conv2.weight',
  'decoder.conv.2.bias': 'decoder.conv2.bias',
  'decoder_1d.fc.0.weight': 'decoder1d.fc1.weight',
  'decoder_1d.fc.0.bias': 'decoder1d.fc1.bias',
  'decoder_1d.fc.2.weight': 'decoder1d.fc2.weight',
  'decoder_1d.fc.2.bias': 'decoder1d.fc2.bias',
  'bias_class.1.weight': 'biasClass.weight',
  'bias_class.1.bias': 'biasClass.bias',
};

function loadReference(ghn: MlpGhn): void {
  for (const [theirs, ours] of Object.entries(NAMES)) {
    const p = fx.ghn[theirs]!;
    const v = ghn.variables[ours]!;
    tf.tidy(() => {
      const t = tf.tensor(p.values, p.shape);
      // weights: [out, in(, 1, 1)] → [in, out]; biases as they are
      v.assign(p.shape.length === 1 ? t : tf.transpose(tf.reshape(t, [p.shape[0]!, -1])));
    });
  }
}

const maxAbsDiff = async (a: tf.Tensor, b: tf.Tensor) => {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
};

beforeAll(async () => {
  await initBackend('cpu');
});

describe('MlpGhn against the reference MLP_GHN', () => {
  it('has the reference parameters, generates its weights and biases and its policies’ outputs (1e-5)', async () => {
    const c = fx.config;
    const ghn = new MlpGhn({
      observationSize: c.observationSize,
      outputSize: c.actionSize,
      hidden: c.hidden,
      maxWidth: c.maxWidth,
    });
    expect(Object.keys(ghn.variables).sort()).toEqual(Object.values(NAMES).sort());
    loadReference(ghn);
    const before = tf.memory().numTensors;
    const policies = ghn.generate(fx.policies.map((p) => p.hidden));
    for (const [k, ref] of fx.policies.entries()) {
      const got = policies[k]!;
      expect(got.hidden).toEqual(ref.hidden);
      expect(got.weights.length).toBe(ref.hidden.length + 1);
      ref.params.forEach((p, i) => {
        const layer = i >> 1;
        const shape = i % 2 === 0 ? [...got.weights[layer]!.shape].reverse() : got.biases[layer]!.shape;
        expect(shape).toEqual(p.shape);
      });
      for (const [i, p] of ref.params.entries()) {
        const layer = i >> 1;
        const mine = i % 2 === 0 ? tf.transpose(got.weights[layer]!) : tf.clone(got.biases[layer]!);
        const want = tf.tensor(p.values, p.shape);
        expect(await maxAbsDiff(mine, want), `${ref.hidden.join('-')} ${p.name}`).toBeLessThan(1e-5);
        tf.dispose([mine, want]);
      }
    }
    // the padded batched pass of all five policies equals the reference's outputs, policy by policy
    const padded = padPolicies(policies);
    const x = tf.tensor2d(fx.x);
    const xs = tf.stack(fx.policies.map(() => x)) as tf.Tensor3D;
    const y = paddedForward(xs, padded);
    const want = tf.tensor3d(fx.outputs);
    expect(await maxAbsDiff(y, want)).toBeLessThan(1e-5);
    tf.dispose([x, xs, y, want, ...padded.weights, ...padded.biases]);
    for (const p of policies) tf.dispose([...p.weights, ...p.biases]);
    expect(tf.memory().numTensors).toBe(before);
    ghn.dispose();
  });

  it('generates the shapes of every depth and width, tiling past maxWidth', () => {
    const ghn = new MlpGhn({ observationSize: 11, outputSize: 2, hidden: 8, maxWidth: 8 });
    const [a, b] = ghn.generate([[4, 12, 3, 8], [9]]);
    expect(a!.weights.map((w) => w.shape)).toEqual([
      [11, 4],
      [4, 12],
      [12, 3],
      [3, 8],
      [8, 2],
    ]);
    expect(a!.biases.map((w) => w.shape)).toEqual([[4], [12], [3], [8], [2]]);
    expect(b!.weights.map((w) => w.shape)).toEqual([
      [11, 9],
      [9, 2],
    ]);
    for (const p of [a!, b!]) tf.dispose([...p.weights, ...p.biases]);
    ghn.dispose();
  });
});
