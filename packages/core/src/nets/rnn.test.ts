import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients and no chained methods (ops.ts calls x.reshape).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import { LSTM, SimpleRNN, embeddingLookup, type RecurrentConfig } from './rnn.js';
import { countParams, type Weights } from '../params.js';
import { Rng } from '../random.js';
import { createVariables, initWeights } from '../init.js';
import { assertNoLeaks } from '../memory.js';
import { ConfigError, ShapeMismatchError } from '../errors.js';
import type { TargetNet } from '../target.js';

// ---------- helpers ----------

/** Weights from the net's init plus noise, so zero biases and unit scales are tested too. */
function noisyWeights(net: TargetNet, seed: number, scale = 0.3): Weights {
  const rng = new Rng(seed);
  const w = initWeights(net.params, rng);
  const out: Weights = {};
  for (const s of net.params) {
    out[s.name] = tf.tidy(() => tf.add(w[s.name], rng.normal([...s.shape], 0, scale)));
    w[s.name].dispose();
  }
  return out;
}

function stackWeights(net: TargetNet, sets: Weights[]): Weights {
  return Object.fromEntries(net.params.map((s) => [s.name, tf.stack(sets.map((w) => w[s.name]))]));
}

function disposeWeights(...ws: Weights[]): void {
  for (const w of ws) tf.dispose(Object.values(w));
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Per-sample forward and gradients vs a loop over samples with shared weights. */
function perSampleVsLoop(net: TargetNet, x: tf.Tensor, seed: number): { fwd: number; grad: number } {
  const n = x.shape[0];
  const sets = Array.from({ length: n }, (_, i) => noisyWeights(net, seed + i));
  const stacked = stackWeights(net, sets);
  const names = net.params.map((s) => s.name);
  const r = new Rng(seed + 1000).normal([n, ...net.outputShape]);
  const batchedLoss = (...ws: tf.Tensor[]) => {
    const w = Object.fromEntries(names.map((k, j) => [k, ws[j]]));
    return tf.sum(tf.mul(net.forward(x, w), r));
  };
  const yb = net.forward(x, stacked);
  const gb = tf.grads(batchedLoss)(names.map((k) => stacked[k]));
  const ys: tf.Tensor[] = [];
  const gl: tf.Tensor[][] = names.map(() => []);
  for (let i = 0; i < n; i++) {
    const xi = tf.slice(x, i, 1);
    const ri = tf.slice(r, i, 1);
    ys.push(net.forward(xi, sets[i]));
    const gi = tf.grads((...ws: tf.Tensor[]) => {
      const w = Object.fromEntries(names.map((k, j) => [k, ws[j]]));
      return tf.sum(tf.mul(net.forward(xi, w), ri));
    })(names.map((k) => sets[i][k]));
    gi.forEach((g, j) => gl[j].push(g));
    tf.dispose([xi, ri]);
  }
  const yl = tf.concat(ys);
  const fwd = maxAbsDiff(yb, yl);
  let grad = 0;
  names.forEach((_, j) => {
    const g = tf.stack(gl[j]);
    grad = Math.max(grad, maxAbsDiff(gb[j], g));
    g.dispose();
  });
  tf.dispose([yb, yl, r, ...ys, ...gb, ...gl.flat()]);
  disposeWeights(stacked, ...sets);
  return { fwd, grad };
}

/**
 * Directional finite differences, one direction per parameter tensor:
 * (L(w + εd) − L(w − εd)) / 2ε vs ⟨∇L, d⟩, with L = Σ y·r.
 */
function finiteDifferenceCheck(net: TargetNet, x: tf.Tensor, weights: Weights, eps = 1e-2): void {
  const names = net.params.map((s) => s.name);
  const rng = new Rng(77);
  const r = rng.normal([x.shape[0], ...net.outputShape]);
  const loss = (w: Weights) => tf.tidy(() => tf.sum(tf.mul(net.forward(x, w), r)));
  const grads = tf.grads((...ws: tf.Tensor[]) => loss(Object.fromEntries(names.map((k, j) => [k, ws[j]]))))(
    names.map((k) => weights[k]),
  );
  names.forEach((name, j) => {
    const d = rng.normal([...weights[name].shape]);
    const analytic = tf.sum(tf.mul(grads[j], d)).dataSync()[0];
    const at = (sign: number) => {
      const moved = tf.add(weights[name], tf.mul(d, sign * eps));
      const v = loss({ ...weights, [name]: moved });
      const out = v.dataSync()[0];
      tf.dispose([moved, v]);
      return out;
    };
    const numeric = (at(1) - at(-1)) / (2 * eps);
    const err = Math.abs(numeric - analytic);
    expect(err, `${name}: numeric ${numeric} vs analytic ${analytic}`).toBeLessThanOrEqual(1e-2 * Math.max(1, Math.abs(analytic)));
    d.dispose();
  });
  tf.dispose([r, ...grads]);
}

// ---------- plain-JS references ----------

type M = number[][];
const sig = (v: number) => 1 / (1 + Math.exp(-v));
/** row vector · matrix */
const vecMat = (v: number[], m: M) => m[0].map((_, j) => v.reduce((s, vi, i) => s + vi * m[i][j], 0));

/** One sample: x [T][in] → hidden states [T][H], for cell 'lstm' (gates i, f, g, o) or 'rnn'. */
function recurrentRef(cell: 'lstm' | 'rnn', x: M, wIh: M, wHh: M, b: number[], H: number): M {
  let h = new Array(H).fill(0);
  let c = new Array(H).fill(0);
  const out: M = [];
  for (const xt of x) {
    const a = vecMat(xt, wIh);
    const rh = vecMat(h, wHh);
    const z = a.map((v, j) => v + rh[j] + b[j]);
    if (cell === 'rnn') h = z.map(Math.tanh);
    else {
      const i = z.slice(0, H).map(sig);
      const f = z.slice(H, 2 * H).map(sig);
      const g = z.slice(2 * H, 3 * H).map(Math.tanh);
      const o = z.slice(3 * H).map(sig);
      c = c.map((cj, j) => f[j] * cj + i[j] * g[j]);
      h = c.map((cj, j) => o[j] * Math.tanh(cj));
    }
    out.push(h);
  }
  return out;
}

// ---------- tests ----------

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('recurrent nets: config and ParamSpecs', () => {
  it('counts parameters like the hand computation (2-layer LSTM with embedding and head)', () => {
    const net = new LSTM({ inputSize: 5, hiddenSize: 7, seqLength: 4, layers: 2, vocabSize: 11, outputSize: 3 });
    // embedding 11·5; layer 0: 5·28 + 7·28 + 28; layer 1: 7·28 + 7·28 + 28; head 7·3 + 3
    const expected = 11 * 5 + (5 * 28 + 7 * 28 + 28) + (7 * 28 + 7 * 28 + 28) + (7 * 3 + 3);
    expect(countParams(net.params)).toBe(expected);
    expect(net.params.map((p) => p.name)).toEqual([
      'embedding.weight',
      'lstm.0.weight_ih',
      'lstm.0.weight_hh',
      'lstm.0.bias',
      'lstm.1.weight_ih',
      'lstm.1.weight_hh',
      'lstm.1.bias',
      'head.weight',
      'head.bias',
    ]);
    const hh = net.params.find((p) => p.name === 'lstm.0.weight_hh')!;
    expect(hh).toMatchObject({ shape: [7, 28], kind: 'recurrent-weight', fanIn: 7, fanOut: 28, layer: 1 });
    expect(net.params.find((p) => p.name === 'embedding.weight')!.kind).toBe('embedding');
    expect(net.inputShape).toEqual([4]);
    expect(net.outputShape).toEqual([3]);
  });

  it('SimpleRNN: one gate block; sequence output shape', () => {
    const net = new SimpleRNN({ inputSize: 3, hiddenSize: 4, seqLength: 6, output: 'sequence' });
    expect(countParams(net.params)).toBe(3 * 4 + 4 * 4 + 4);
    expect(net.params.map((p) => p.name)).toEqual(['rnn.0.weight_ih', 'rnn.0.weight_hh', 'rnn.0.bias']);
    expect(net.inputShape).toEqual([6, 3]);
    expect(net.outputShape).toEqual([6, 4]);
  });

  it('rejects bad configs with ConfigError naming the field', () => {
    const ok: RecurrentConfig = { inputSize: 2, hiddenSize: 3, seqLength: 4 };
    expect(() => new LSTM({ ...ok, hiddenSize: 0 })).toThrow(/hiddenSize/);
    expect(() => new LSTM({ ...ok, layers: 1.5 })).toThrow(ConfigError);
    expect(() => new LSTM({ ...ok, output: 'all' as never })).toThrow(/output/);
    expect(() => new LSTM({ ...ok, dropout: 1 })).toThrow(/dropout/);
    expect(() => new LSTM({ ...ok, hidenSize: 3 } as never)).toThrow(/hidenSize/);
  });

  it('rejects bad inputs with ShapeMismatchError', () => {
    const net = new LSTM({ inputSize: 2, hiddenSize: 3, seqLength: 4 });
    const w = initWeights(net.params, new Rng(0));
    const x = tf.zeros([2, 4, 5]);
    expect(() => net.forward(x, w)).toThrow(ShapeMismatchError);
    const w3 = stackWeights(net, [w, w, w]);
    const x2 = tf.zeros([2, 4, 2]);
    expect(() => net.forward(x2, w3)).toThrow(/per-sample/);
    disposeWeights(w, w3);
    tf.dispose([x, x2]);
  });
});

describe('recurrent nets: numerics', () => {
  it('LSTM (H=2, in=3, T=2) matches a plain-JS reference', () => {
    const net = new LSTM({ inputSize: 3, hiddenSize: 2, seqLength: 2, output: 'sequence' });
    const w = noisyWeights(net, 1, 0.5);
    const x = new Rng(2).normal([2, 2, 3]);
    const y = net.forward(x, w).arraySync() as number[][][];
    const [wIh, wHh, b] = ['lstm.0.weight_ih', 'lstm.0.weight_hh', 'lstm.0.bias'].map((k) => w[k].arraySync());
    const xs = x.arraySync() as number[][][];
    let err = 0;
    xs.forEach((xi, i) => {
      const ref = recurrentRef('lstm', xi, wIh as M, wHh as M, b as number[], 2);
      ref.forEach((row, t) => row.forEach((v, j) => (err = Math.max(err, Math.abs(v - y[i][t][j])))));
    });
    expect(err).toBeLessThan(1e-6);
    disposeWeights(w);
    x.dispose();
  });

  it('2-layer SimpleRNN with head (last step) matches a plain-JS reference', () => {
    const net = new SimpleRNN({ inputSize: 3, hiddenSize: 2, seqLength: 3, layers: 2, outputSize: 2 });
    const w = noisyWeights(net, 3, 0.5);
    const x = new Rng(4).normal([2, 3, 3]);
    const y = net.forward(x, w).arraySync() as number[][];
    const a = (k: string) => w[k].arraySync() as never;
    const xs = x.arraySync() as number[][][];
    let err = 0;
    xs.forEach((xi, i) => {
      const h0 = recurrentRef('rnn', xi, a('rnn.0.weight_ih'), a('rnn.0.weight_hh'), a('rnn.0.bias'), 2);
      const h1 = recurrentRef('rnn', h0, a('rnn.1.weight_ih'), a('rnn.1.weight_hh'), a('rnn.1.bias'), 2);
      const hb = a('head.bias') as number[];
      const out = vecMat(h1[2], a('head.weight')).map((v, j) => v + hb[j]);
      out.forEach((v, j) => (err = Math.max(err, Math.abs(v - y[i][j]))));
    });
    expect(err).toBeLessThan(1e-6);
    disposeWeights(w);
    x.dispose();
  });

  it('gradients match finite differences (LSTM, 2 layers, tokens, head)', () => {
    const net = new LSTM({ inputSize: 3, hiddenSize: 2, seqLength: 3, layers: 2, vocabSize: 5, outputSize: 2 });
    const w = noisyWeights(net, 5, 0.3);
    const x = tf.tensor2d([[0, 3, 4], [2, 2, 1]], [2, 3], 'int32');
    finiteDifferenceCheck(net, x, w);
    disposeWeights(w);
    x.dispose();
  });

  it('embeddingLookup: per-sample tables equal per-sample gathers', () => {
    const table = new Rng(9).normal([3, 4, 2]);
    const ids = tf.tensor2d([[0, 3], [1, 1], [3, 2]], [3, 2], 'int32');
    const got = embeddingLookup(ids, table);
    const want = tf.stack([0, 1, 2].map((i) => tf.gather(tf.squeeze(tf.slice(table, i, 1), [0]), tf.squeeze(tf.slice(ids, i, 1), [0]))));
    expect(maxAbsDiff(got, want)).toBe(0);
    tf.dispose([table, ids, got, want]);
  });
});

describe('recurrent nets: per-sample weights', () => {
  const errors: Record<string, { fwd: number; grad: number }> = {};

  it('LSTM, float inputs, 2 layers, last + head: batched pass = loop (values and gradients)', () => {
    const net = new LSTM({ inputSize: 3, hiddenSize: 4, seqLength: 5, layers: 2, outputSize: 2 });
    const x = new Rng(11).normal([3, 5, 3]);
    const e = (errors['lstm last'] = perSampleVsLoop(net, x, 20));
    expect(e.fwd).toBeLessThan(1e-5);
    expect(e.grad).toBeLessThan(1e-5);
    // Control: the comparison does see a mix-up of weight sets.
    const sets = [20, 21, 22].map((s) => noisyWeights(net, s));
    const rotated = stackWeights(net, [sets[1], sets[2], sets[0]]);
    const mixedUp = tf.tidy(() => maxAbsDiff(net.forward(tf.slice(x, 0, 1), sets[0]), tf.slice(net.forward(x, rotated), 0, 1)));
    expect(mixedUp).toBeGreaterThan(1e-2);
    disposeWeights(rotated, ...sets);
    x.dispose();
  });

  it('LSTM, token inputs, sequence output (char-LM shape): batched pass = loop', () => {
    const net = new LSTM({ inputSize: 4, hiddenSize: 3, seqLength: 4, vocabSize: 6, output: 'sequence', outputSize: 6 });
    const x = tf.tensor2d([[0, 1, 5, 2], [3, 3, 4, 0], [5, 4, 3, 2]], [3, 4], 'int32');
    const e = (errors['lstm tokens sequence'] = perSampleVsLoop(net, x, 30));
    expect(e.fwd).toBeLessThan(1e-5);
    expect(e.grad).toBeLessThan(1e-5);
    x.dispose();
  });

  it('SimpleRNN, sequence output: batched pass = loop', () => {
    const net = new SimpleRNN({ inputSize: 2, hiddenSize: 3, seqLength: 4, output: 'sequence', layers: 2 });
    const x = new Rng(12).normal([4, 4, 2]);
    const e = (errors['rnn sequence'] = perSampleVsLoop(net, x, 40));
    expect(e.fwd).toBeLessThan(1e-5);
    expect(e.grad).toBeLessThan(1e-5);
    x.dispose();
    console.log('per-sample vs loop max abs errors (rnn):', JSON.stringify(errors));
  });
});

describe('recurrent nets: memory, seeds, training', () => {
  it('does not leak tensors across training steps (adam, dropout)', async () => {
    const net = new LSTM({ inputSize: 2, hiddenSize: 4, seqLength: 3, layers: 2, outputSize: 1, dropout: 0.2 });
    const vars = createVariables(net.params, new Rng(0));
    const x = new Rng(1).normal([4, 3, 2]);
    const opt = tf.train.adam(0.01);
    const rng = new Rng(2);
    await assertNoLeaks(
      () => opt.minimize(() => tf.mean(tf.square(net.forward(x, vars, { training: true, rng }))) as tf.Scalar, true),
      { steps: 3, label: 'LSTM training step' },
    );
    await assertNoLeaks(() => net.forward(x, vars), { label: 'LSTM forward' });
    opt.dispose();
    tf.dispose([x, ...Object.values(vars)]);
  });

  it('needs options.rng for dropout in training mode', () => {
    const net = new LSTM({ inputSize: 2, hiddenSize: 3, seqLength: 2, layers: 2, dropout: 0.5 });
    const w = initWeights(net.params, new Rng(0));
    const x = tf.ones([1, 2, 2]);
    expect(() => net.forward(x, w, { training: true })).toThrow(/options\.rng/);
    disposeWeights(w);
    x.dispose();
  });

  it('is reproducible from a seed (init and dropout masks)', () => {
    const net = new LSTM({ inputSize: 2, hiddenSize: 5, seqLength: 3, layers: 2, outputSize: 2, dropout: 0.3 });
    const x = new Rng(3).normal([4, 3, 2]);
    const run = (seed: number) => {
      const w = initWeights(net.params, new Rng(seed));
      const y = net.forward(x, w, { training: true, rng: new Rng(seed + 1) });
      const out = Array.from(y.dataSync());
      disposeWeights(w);
      y.dispose();
      return out;
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    x.dispose();
  });

  it('LSTM learns the sign of a sum (≥ 90% held-out accuracy in 80 adam steps)', () => {
    const T = 8;
    const net = new LSTM({ inputSize: 1, hiddenSize: 8, seqLength: T, outputSize: 1 });
    const rng = new Rng(123);
    const vars = createVariables(net.params, rng);
    const batch = (n: number) =>
      tf.tidy(() => {
        const x = rng.uniformTensor([n, T, 1], -1, 1);
        const y = tf.reshape(tf.cast(tf.greater(tf.sum(x, [1, 2]), 0), 'float32'), [n, 1]);
        return { x, y };
      });
    const opt = tf.train.adam(0.05);
    const t0 = performance.now();
    for (let step = 0; step < 80; step++) {
      const { x, y } = batch(32);
      opt.minimize(() => tf.losses.sigmoidCrossEntropy(y, net.forward(x, vars)) as tf.Scalar);
      tf.dispose([x, y]);
    }
    const { x, y } = batch(512);
    const acc = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.greater(net.forward(x, vars), 0), tf.cast(y, 'bool')), 'float32')).dataSync()[0]);
    console.log(`LSTM sign-of-sum: held-out accuracy ${acc.toFixed(3)} after 80 steps, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(acc).toBeGreaterThanOrEqual(0.9);
    opt.dispose();
    tf.dispose([x, y, ...Object.values(vars)]);
  });
});
