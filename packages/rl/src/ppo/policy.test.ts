import * as tf from '@tensorflow/tfjs-core';
import { Rng, initBackend } from '@hypernets/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  argmaxRows,
  categoricalEntropy,
  categoricalLogProb,
  gaussianEntropy,
  gaussianLogProb,
  sampleCategorical,
  sampleGaussian,
} from './distributions.js';
import { orthogonalArray } from './orthogonal.js';
import { ActorCritic } from './policy.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** Gram matrix of the rows (byRows) or columns of a row-major [r, c] matrix. */
function gram(w: Float32Array, r: number, c: number, byRows: boolean): number[][] {
  const n = byRows ? r : c;
  const len = byRows ? c : r;
  const at = (i: number, k: number) => (byRows ? w[i * c + k]! : w[k * c + i]!);
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let k = 0; k < len; k++) s += at(i, k) * at(j, k);
      return s;
    }),
  );
}

describe('orthogonalArray (torch.nn.init.orthogonal_, laid out [in, out])', () => {
  it.each([
    [4, 64, Math.SQRT2], // a first layer: in < out, rows orthonormal
    [64, 64, Math.SQRT2],
    [64, 2, 0.01], // an actor head: in > out, columns orthonormal
    [64, 1, 1], // a critic head
  ])('[%i, %i] with gain %f is gain × orthogonal', (inSize, outSize, gain) => {
    const w = orthogonalArray(inSize, outSize, new Rng(3), gain);
    const g = gram(w, inSize, outSize, inSize <= outSize);
    g.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(i === j ? gain * gain : 0, 5)));
  });

  it('is seeded and not degenerate', () => {
    expect(orthogonalArray(8, 8, new Rng(1))).toEqual(orthogonalArray(8, 8, new Rng(1)));
    expect(orthogonalArray(8, 8, new Rng(1))).not.toEqual(orthogonalArray(8, 8, new Rng(2)));
  });
});

describe('distributions against their formulas', () => {
  it('categorical log-prob and entropy', async () => {
    const logits = [
      [1, 2, 0.5],
      [-1, 0, 3],
    ];
    const actions = [1, 0];
    const lp = categoricalLogProb(tf.tensor2d(logits), tf.tensor1d(actions, 'int32'));
    const h = categoricalEntropy(tf.tensor2d(logits));
    const [lpv, hv] = [await lp.data(), await h.data()];
    logits.forEach((row, b) => {
      const z = row.reduce((a, x) => a + Math.exp(x), 0);
      const p = row.map((x) => Math.exp(x) / z);
      expect(lpv[b]).toBeCloseTo(Math.log(p[actions[b]!]!), 5);
      expect(hv[b]).toBeCloseTo(-p.reduce((a, q) => a + q * Math.log(q), 0), 5);
    });
    tf.dispose([lp, h]);
  });

  it('diagonal Gaussian log-prob (summed over dimensions) and entropy', async () => {
    const mean = [
      [0, 1],
      [2, -1],
    ];
    const logStd = [0.3, -0.5];
    const a = [
      [0.5, 0.2],
      [1.5, -1.1],
    ];
    const lp = gaussianLogProb(tf.tensor2d(mean), tf.tensor1d(logStd), tf.tensor2d(a));
    const h = gaussianEntropy(tf.tensor1d(logStd), 2);
    const [lpv, hv] = [await lp.data(), await h.data()];
    for (let b = 0; b < 2; b++) {
      let want = 0;
      for (let j = 0; j < 2; j++) {
        const s = Math.exp(logStd[j]!);
        want += -((a[b]![j]! - mean[b]![j]!) ** 2) / (2 * s * s) - Math.log(s) - 0.5 * Math.log(2 * Math.PI);
      }
      expect(lpv[b]).toBeCloseTo(want, 5);
      expect(hv[b]).toBeCloseTo(
        logStd.reduce((acc, l) => acc + 0.5 + 0.5 * Math.log(2 * Math.PI) + l, 0),
        5,
      );
    }
    tf.dispose([lp, h]);
  });

  it('host sampling: seeded, with the log-probs of the formulas, and the right frequencies', () => {
    const logits = new Float32Array([0, Math.log(3)]); // p = 0.25, 0.75
    const a = sampleCategorical(logits, 1, 2, new Rng(5));
    expect(a).toEqual(sampleCategorical(logits, 1, 2, new Rng(5)));
    const many = new Float32Array(2000 * 2);
    for (let i = 0; i < 2000; i++) many.set(logits, 2 * i);
    const s = sampleCategorical(many, 2000, 2, new Rng(7));
    const ones = s.actions.reduce((acc, x) => acc + x, 0);
    expect(ones / 2000).toBeGreaterThan(0.72);
    expect(ones / 2000).toBeLessThan(0.78);
    s.actions.forEach((x, i) => expect(s.logProbs[i]).toBeCloseTo(Math.log(x ? 0.75 : 0.25), 5));
    const g = sampleGaussian([1, -1], [Math.log(0.5)], 2, new Rng(9));
    expect(g).toEqual(sampleGaussian([1, -1], [Math.log(0.5)], 2, new Rng(9)));
    g.actions.forEach((x, b) => {
      const z = (x - [1, -1][b]!) / 0.5;
      expect(g.logProbs[b]).toBeCloseTo(-0.5 * z * z - Math.log(0.5) - 0.5 * Math.log(2 * Math.PI), 4);
    });
    expect(Array.from(argmaxRows([0, 2, 1, 5, 5, 0], 2, 3))).toEqual([1, 0]);
  });
});

describe('ActorCritic (CleanRL’s agent on core’s MLP)', () => {
  it('inits as CleanRL: orthogonal gains √2 / 0.01 / 1, zero biases, log-std 0; runs with any weight record', async () => {
    const before = tf.memory().numTensors;
    const ac = new ActorCritic({ observationSize: 3, action: { kind: 'box', size: 2 }, seed: 1 });
    expect(Object.keys(ac.variables)).toEqual([
      'actor.fc1.weight',
      'actor.fc1.bias',
      'actor.fc2.weight',
      'actor.fc2.bias',
      'actor.fc3.weight',
      'actor.fc3.bias',
      'actor.logStd',
      'critic.fc1.weight',
      'critic.fc1.bias',
      'critic.fc2.weight',
      'critic.fc2.bias',
      'critic.fc3.weight',
      'critic.fc3.bias',
    ]);
    const head = await ac.variables['actor.fc3.weight']!.data(); // [64, 2]: columns of norm 0.01
    const g = gram(head as Float32Array, 64, 2, false);
    expect(g[0]![0]).toBeCloseTo(1e-4, 8);
    expect(g[0]![1]).toBeCloseTo(0, 8);
    const critic = await ac.variables['critic.fc3.weight']!.data();
    expect(Array.from(critic).reduce((a, x) => a + x * x, 0)).toBeCloseTo(1, 5);
    expect(Array.from(await ac.variables['actor.logStd']!.data())).toEqual([0, 0]);
    expect(Array.from(await ac.variables['critic.fc1.bias']!.data()).every((x) => x === 0)).toBe(true);

    // evaluateActions = the formulas on actorOutput; a weight record of copies gives the same numbers
    const obs = tf.tensor2d([
      [0.1, -0.2, 0.3],
      [1, 0, -1],
    ]);
    const actions = tf.tensor2d([
      [0.5, -0.5],
      [0, 1],
    ]);
    const ev = ac.evaluateActions(obs, actions);
    const copies = Object.fromEntries(Object.entries(ac.actorWeights()).map(([k, v]) => [k, tf.clone(v)]));
    const ev2 = ac.evaluateActions(obs, actions, copies);
    expect(Array.from(await ev2.logProb.data())).toEqual(Array.from(await ev.logProb.data()));
    const mean = ac.actorOutput(obs);
    const lp = gaussianLogProb(mean, ac.variables['actor.logStd']!, actions);
    expect(Array.from(await ev.logProb.data())).toEqual(Array.from(await lp.data()));
    expect(ev.value.shape).toEqual([2]);
    tf.dispose([obs, actions, mean, lp, ...Object.values(ev), ...Object.values(ev2), ...Object.values(copies)]);
    ac.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is seeded', async () => {
    const a = new ActorCritic({ observationSize: 4, action: { kind: 'discrete', n: 2 }, seed: 7 });
    const b = new ActorCritic({ observationSize: 4, action: { kind: 'discrete', n: 2 }, seed: 7 });
    expect(Array.from(await a.variables['actor.fc1.weight']!.data())).toEqual(
      Array.from(await b.variables['actor.fc1.weight']!.data()),
    );
    expect(a.logStd).toBeNull();
    expect(a.parameterCount).toBe(2 * (4 * 64 + 64 + 64 * 64 + 64) + 64 * 2 + 2 + 64 + 1);
    a.dispose();
    b.dispose();
  });
});
