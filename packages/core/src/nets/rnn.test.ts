import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { LSTM, SimpleRNN, type RecurrentConfig } from './rnn.js';
import { embeddingLookup } from '../ops/embedding.js';
import { countParams } from '../params.js';
import { Rng } from '../random.js';
import { createVariables, initWeights } from '../init.js';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import {
  disposeWeights,
  expectNoLeaksWhileTraining,
  expectReproducibleFromSeed,
  finiteDifferenceCheck,
  maxAbsDiff,
  mixedUpDifference,
  noisyWeights,
  perSampleVsLoop,
  stackWeights,
  trainBinaryClassifier,
  useCpu,
} from '../testing/nets.js';

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

beforeAll(useCpu);

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
    const x = tf.tensor2d(
      [
        [0, 3, 4],
        [2, 2, 1],
      ],
      [2, 3],
      'int32',
    );
    finiteDifferenceCheck(net, x, 5);
    x.dispose();
  });

  it('embeddingLookup: per-sample tables equal per-sample gathers', () => {
    const table = new Rng(9).normal([3, 4, 2]);
    const ids = tf.tensor2d(
      [
        [0, 3],
        [1, 1],
        [3, 2],
      ],
      [3, 2],
      'int32',
    );
    const got = embeddingLookup(ids, table);
    const want = tf.stack(
      [0, 1, 2].map((i) => tf.gather(tf.squeeze(tf.slice(table, i, 1), [0]), tf.squeeze(tf.slice(ids, i, 1), [0]))),
    );
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
    expect(mixedUpDifference(net, x, 20)).toBeGreaterThan(1e-2);
    x.dispose();
  });

  it('LSTM, token inputs, sequence output (char-LM shape): batched pass = loop', () => {
    const net = new LSTM({
      inputSize: 4,
      hiddenSize: 3,
      seqLength: 4,
      vocabSize: 6,
      output: 'sequence',
      outputSize: 6,
    });
    const x = tf.tensor2d(
      [
        [0, 1, 5, 2],
        [3, 3, 4, 0],
        [5, 4, 3, 2],
      ],
      [3, 4],
      'int32',
    );
    const e = (errors['lstm tokens sequence'] = perSampleVsLoop(net, x, 30));
    expect(e.fwd).toBeLessThan(1e-5);
    expect(e.grad).toBeLessThan(1e-5);
    x.dispose();
  });

  it('SimpleRNN, sequence output: batched pass = loop', async ({ annotate }) => {
    const net = new SimpleRNN({ inputSize: 2, hiddenSize: 3, seqLength: 4, output: 'sequence', layers: 2 });
    const x = new Rng(12).normal([4, 4, 2]);
    const e = (errors['rnn sequence'] = perSampleVsLoop(net, x, 40));
    expect(e.fwd).toBeLessThan(1e-5);
    expect(e.grad).toBeLessThan(1e-5);
    x.dispose();
    await annotate(`per-sample vs loop max abs errors (rnn): ${JSON.stringify(errors)}`);
  });
});

describe('recurrent nets: memory, seeds, training', () => {
  it('does not leak tensors across training steps (adam, dropout)', async () => {
    const net = new LSTM({ inputSize: 2, hiddenSize: 4, seqLength: 3, layers: 2, outputSize: 1, dropout: 0.2 });
    const vars = createVariables(net.params, new Rng(0));
    const x = new Rng(1).normal([4, 3, 2]);
    await expectNoLeaksWhileTraining(net, vars, x, 'LSTM');
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
    expectReproducibleFromSeed(net, x);
    x.dispose();
  });

  it('LSTM learns the sign of a sum (≥ 90% held-out accuracy in 80 adam steps)', async ({ annotate }) => {
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
    const { accuracy: acc } = trainBinaryClassifier(net, vars, batch, 80, 0.05);
    await annotate(`LSTM sign-of-sum: held-out accuracy ${acc.toFixed(3)} after 80 steps`);
    expect(acc).toBeGreaterThanOrEqual(0.9);
    tf.dispose(Object.values(vars));
  });
});
