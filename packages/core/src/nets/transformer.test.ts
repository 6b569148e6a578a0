import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { TransformerEncoder, type TransformerEncoderConfig } from './transformer.js';
import { multiHeadAttention } from '../ops/attention.js';
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
  trainBinaryClassifier,
  useCpu,
} from '../testing/nets.js';

// ---------- plain-JS reference ----------

type M = number[][];
const matMulRef = (a: M, b: M): M => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const addRow = (a: M, b: number[]): M => a.map((row) => row.map((v, j) => v + b[j]));
const addM = (a: M, b: M): M => a.map((row, i) => row.map((v, j) => v + b[i][j]));
const dense = (a: M, w: M, b: number[]) => addRow(matMulRef(a, w), b);
const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

function layerNormRef(a: M, g: number[], b: number[], eps = 1e-5): M {
  return a.map((row) => {
    const mean = row.reduce((s, v) => s + v, 0) / row.length;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
    return row.map((v, j) => ((v - mean) / Math.sqrt(variance + eps)) * g[j] + b[j]);
  });
}

/** Self-attention of one sample on projected q, k, v [T][d] → [T][d]. */
function attentionRef(q: M, k: M, v: M, heads: number, causal: boolean): M {
  const t = q.length;
  const d = q[0].length;
  const dh = d / heads;
  const out: M = q.map(() => new Array(d).fill(0));
  for (let h = 0; h < heads; h++) {
    const cols = (row: number[]) => row.slice(h * dh, (h + 1) * dh);
    for (let i = 0; i < t; i++) {
      const s = k.map((kj, j) =>
        causal && j > i ? -Infinity : cols(q[i]).reduce((acc, qv, c) => acc + qv * cols(kj)[c], 0) / Math.sqrt(dh),
      );
      const mx = Math.max(...s);
      const e = s.map((v) => Math.exp(v - mx));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < t; j++) for (let c = 0; c < dh; c++) out[i][h * dh + c] += (e[j] / z) * v[j][h * dh + c];
    }
  }
  return out;
}

/** The whole encoder for one sample x [T][in] (float inputs), written out by hand. */
function encoderRef(net: TransformerEncoder, x: M, w: Record<string, number[] & M>): number[] | M {
  const c = net.config;
  const d = c.dModel;
  let h: M = c.inputSize !== d ? dense(x, w['input_proj.weight'], w['input_proj.bias']) : x;
  if (c.pooling === 'cls') h = [w['cls_token'] as number[], ...h];
  if (c.positionalEmbedding) h = addM(h, (w['pos_embedding'] as M).slice(0, h.length));
  for (let b = 0; b < c.numBlocks; b++) {
    const p = (k: string) => w[`blocks.${b}.${k}`];
    const qkv = dense(layerNormRef(h, p('ln1.weight'), p('ln1.bias')), p('attn.qkv.weight'), p('attn.qkv.bias'));
    const part = (i: number) => qkv.map((row) => row.slice(i * d, (i + 1) * d));
    const att = attentionRef(part(0), part(1), part(2), c.numHeads, c.causal);
    h = addM(h, dense(att, p('attn.proj.weight'), p('attn.proj.bias')));
    const m = dense(layerNormRef(h, p('ln2.weight'), p('ln2.bias')), p('mlp.fc1.weight'), p('mlp.fc1.bias')).map((r) =>
      r.map(gelu),
    );
    h = addM(h, dense(m, p('mlp.fc2.weight'), p('mlp.fc2.bias')));
  }
  if (c.finalNorm) h = layerNormRef(h, w['norm.weight'], w['norm.bias']);
  let y: M;
  if (c.pooling === 'mean') y = [h[0].map((_, j) => h.reduce((s, r) => s + r[j], 0) / h.length)];
  else if (c.pooling === 'cls') y = [h[0]];
  else if (c.pooling === 'last') y = [h[h.length - 1]];
  else y = h;
  if (c.outputSize !== null) y = dense(y, w['head.weight'], w['head.bias']);
  return c.pooling === 'none' ? y : y[0];
}

// ---------- tests ----------

beforeAll(useCpu);

describe('TransformerEncoder: config and ParamSpecs', () => {
  it('counts parameters like the hand computation (tokens, cls, 2 blocks, final LN, head)', () => {
    const d = 8;
    const ff = 16;
    const net = new TransformerEncoder({
      dModel: d,
      numHeads: 2,
      numBlocks: 2,
      ffSize: ff,
      seqLength: 5,
      vocabSize: 11,
      pooling: 'cls',
      outputSize: 3,
    });
    const block = 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + 2 * d + (d * ff + ff) + (ff * d + d);
    const expected = 11 * d + d + 6 * d + 2 * block + 2 * d + (d * 3 + 3);
    expect(countParams(net.params)).toBe(expected);
    expect(net.params.slice(0, 9).map((p) => p.name)).toEqual([
      'embedding.weight',
      'cls_token',
      'pos_embedding',
      'blocks.0.ln1.weight',
      'blocks.0.ln1.bias',
      'blocks.0.attn.qkv.weight',
      'blocks.0.attn.qkv.bias',
      'blocks.0.attn.proj.weight',
      'blocks.0.attn.proj.bias',
    ]);
    const byName = Object.fromEntries(net.params.map((p) => [p.name, p]));
    expect(byName['pos_embedding'].shape).toEqual([6, d]);
    expect(byName['blocks.1.attn.qkv.weight']).toMatchObject({
      shape: [d, 3 * d],
      kind: 'weight',
      fanIn: d,
      fanOut: 3 * d,
    });
    expect(byName['blocks.1.ln2.weight'].kind).toBe('norm-scale');
    expect(byName['blocks.1.ln2.bias'].kind).toBe('norm-shift');
    expect(byName['blocks.0.mlp.fc1.weight'].activation).toBe('gelu-tanh');
    expect(byName['head.weight'].shape).toEqual([d, 3]);
    expect(net.inputShape).toEqual([5]);
    expect(net.outputShape).toEqual([3]);
  });

  it('features with input projection, no pos embedding, no final LN, per-position output', () => {
    const net = new TransformerEncoder({
      dModel: 4,
      numHeads: 1,
      numBlocks: 1,
      seqLength: 7,
      inputSize: 3,
      positionalEmbedding: false,
      finalNorm: false,
      pooling: 'none',
    });
    const block = 2 * 4 + (4 * 12 + 12) + (16 + 4) + 2 * 4 + (4 * 16 + 16) + (16 * 4 + 4);
    expect(countParams(net.params)).toBe(3 * 4 + 4 + block);
    expect(net.inputShape).toEqual([7, 3]);
    expect(net.outputShape).toEqual([7, 4]);
  });

  it('rejects bad configs with ConfigError naming the field', () => {
    const ok: TransformerEncoderConfig = { dModel: 8, numHeads: 2, numBlocks: 1, seqLength: 4 };
    expect(() => new TransformerEncoder({ ...ok, numHeads: 3 })).toThrow(/numHeads.*must divide dModel/);
    expect(() => new TransformerEncoder({ ...ok, numBlocks: 0 })).toThrow(ConfigError);
    expect(() => new TransformerEncoder({ ...ok, vocabSize: 10, inputSize: 3 })).toThrow(/inputSize/);
    expect(() => new TransformerEncoder({ ...ok, pooling: 'max' as never })).toThrow(/pooling/);
    expect(() => new TransformerEncoder({ ...ok, pooling: 'cls', causal: true })).toThrow(/causal/);
    expect(() => new TransformerEncoder({ ...ok, dropout: -0.1 })).toThrow(/dropout/);
    expect(() => new TransformerEncoder({ ...ok, heads: 2 } as never)).toThrow(/heads/);
  });

  it('rejects bad inputs with ShapeMismatchError', () => {
    const net = new TransformerEncoder({ dModel: 4, numHeads: 2, numBlocks: 1, seqLength: 3 });
    const w = initWeights(net.params, new Rng(0));
    const tooLong = tf.zeros([2, 4, 4]);
    const wrongWidth = tf.zeros([2, 3, 5]);
    expect(() => net.forward(tooLong, w)).toThrow(ShapeMismatchError);
    expect(() => net.forward(wrongWidth, w)).toThrow(/TransformerEncoder input/);
    disposeWeights(w);
    tf.dispose([tooLong, wrongWidth]);
  });
});

describe('TransformerEncoder: numerics', () => {
  const cases: [string, TransformerEncoderConfig][] = [
    [
      '1 block, causal, per-position head',
      { dModel: 4, numHeads: 2, numBlocks: 1, ffSize: 6, seqLength: 3, causal: true, pooling: 'none', outputSize: 3 },
    ],
    [
      '1 block, bidirectional, per-position',
      { dModel: 4, numHeads: 2, numBlocks: 1, ffSize: 6, seqLength: 3, pooling: 'none' },
    ],
    [
      '2 blocks, input proj, cls, head',
      { dModel: 4, numHeads: 2, numBlocks: 2, ffSize: 5, seqLength: 3, inputSize: 3, pooling: 'cls', outputSize: 2 },
    ],
    ['mean pooling, 1 head', { dModel: 4, numHeads: 1, numBlocks: 1, seqLength: 3, pooling: 'mean' }],
    [
      'last pooling, causal, shorter T, no final LN',
      { dModel: 4, numHeads: 2, numBlocks: 1, seqLength: 5, causal: true, pooling: 'last', finalNorm: false },
    ],
  ];
  for (const [label, cfg] of cases)
    it(`matches a plain-JS reference: ${label}`, () => {
      const net = new TransformerEncoder(cfg);
      const w = noisyWeights(net, 1, 0.5);
      const x = new Rng(2).normal([2, 3, cfg.inputSize ?? cfg.dModel]);
      const y = net.forward(x, w);
      const wa = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.arraySync()])) as never;
      const ref = tf.tensor((x.arraySync() as M[]).map((xi) => encoderRef(net, xi, wa)) as number[][]);
      expect(maxAbsDiff(y, ref)).toBeLessThan(1e-5);
      disposeWeights(w);
      tf.dispose([x, y, ref]);
    });

  it('sublayerHook sees each block’s attention and MLP output before the residual add, in order', () => {
    const cfg: TransformerEncoderConfig = { dModel: 4, numHeads: 2, numBlocks: 2, ffSize: 5, seqLength: 3 };
    const net = new TransformerEncoder(cfg);
    expect(net.sublayers.map((s) => `${s.name}:${s.width}`)).toEqual([
      'blocks.0.attn:4',
      'blocks.0.mlp:4',
      'blocks.1.attn:4',
      'blocks.1.mlp:4',
    ]);
    const w = noisyWeights(net, 3, 0.5);
    const x = new Rng(4).normal([2, 3, 4]);
    const seen: string[] = [];
    // Zeroing block 1's MLP output through the hook equals zeroing its fc2 weight and bias.
    const hooked = net.forward(x, w, {
      sublayerHook: (site, y) => {
        seen.push(`${site}[${y.shape.join(',')}]`);
        return site === 'blocks.1.mlp' ? tf.zerosLike(y) : y;
      },
    });
    expect(seen).toEqual([
      'blocks.0.attn[2,3,4]',
      'blocks.0.mlp[2,3,4]',
      'blocks.1.attn[2,3,4]',
      'blocks.1.mlp[2,3,4]',
    ]);
    const zeroed: Record<string, tf.Tensor> = {
      ...w,
      'blocks.1.mlp.fc2.weight': tf.zerosLike(w['blocks.1.mlp.fc2.weight']),
    };
    zeroed['blocks.1.mlp.fc2.bias'] = tf.zerosLike(w['blocks.1.mlp.fc2.bias']);
    const ref = net.forward(x, zeroed);
    const plain = net.forward(x, w);
    expect(maxAbsDiff(hooked, ref)).toBeLessThan(1e-6);
    expect(maxAbsDiff(hooked, plain)).toBeGreaterThan(1e-3); // the hook changed something
    disposeWeights(w);
    tf.dispose([x, hooked, ref, plain, zeroed['blocks.1.mlp.fc2.weight'], zeroed['blocks.1.mlp.fc2.bias']]);
  });

  it('multiHeadAttention on hand-picked numbers (one-hot keys select values)', () => {
    // 1 head, d = 2: q·k large for the matching key, so each query copies that key's value.
    const q = tf.tensor3d([
      [
        [10, 0],
        [0, 10],
      ],
    ]);
    const k = tf.tensor3d([
      [
        [1, 0],
        [0, 1],
      ],
    ]);
    const v = tf.tensor3d([
      [
        [1, 2],
        [3, 4],
      ],
    ]);
    const out = multiHeadAttention(q, k, v, 1).arraySync() as number[][][];
    // softmax([10, 0] / √2): weights [1 − e, e] with e = 1 / (1 + exp(10/√2))
    const e = 1 / (1 + Math.exp(10 / Math.SQRT2));
    expect(out[0][0][0]).toBeCloseTo((1 - e) * 1 + e * 3, 5);
    expect(out[0][1][1]).toBeCloseTo(e * 2 + (1 - e) * 4, 5);
    const causal = multiHeadAttention(q, k, v, 1, { causal: true }).arraySync() as number[][][];
    expect(causal[0][0]).toEqual([1, 2]); // the first query may only see the first key
    tf.dispose([q, k, v]);
  });

  it('gradients match finite differences (tokens, causal, 2 blocks, mean pooling, head)', () => {
    const net = new TransformerEncoder({
      dModel: 4,
      numHeads: 2,
      numBlocks: 2,
      ffSize: 6,
      seqLength: 3,
      vocabSize: 5,
      causal: true,
      outputSize: 2,
    });
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

  it('gradients match finite differences (features, input proj, cls)', () => {
    const net = new TransformerEncoder({
      dModel: 4,
      numHeads: 2,
      numBlocks: 1,
      ffSize: 6,
      seqLength: 3,
      inputSize: 2,
      pooling: 'cls',
      outputSize: 2,
    });
    const x = new Rng(7).normal([2, 3, 2]);
    finiteDifferenceCheck(net, x, 6);
    x.dispose();
  });
});

describe('TransformerEncoder: per-sample weights', () => {
  const errors: Record<string, { fwd: number; grad: number }> = {};
  const cases: [string, TransformerEncoderConfig, () => tf.Tensor][] = [
    [
      'tokens, cls, 2 blocks, head',
      { dModel: 8, numHeads: 2, numBlocks: 2, ffSize: 12, seqLength: 4, vocabSize: 7, pooling: 'cls', outputSize: 3 },
      () =>
        tf.tensor2d(
          [
            [0, 1, 6, 2],
            [3, 3, 4, 0],
            [5, 4, 3, 2],
          ],
          [3, 4],
          'int32',
        ),
    ],
    [
      'features, input proj, causal, per-position, T < seqLength',
      {
        dModel: 8,
        numHeads: 4,
        numBlocks: 1,
        seqLength: 6,
        inputSize: 3,
        causal: true,
        pooling: 'none',
        outputSize: 2,
      },
      () => new Rng(13).normal([3, 4, 3]),
    ],
    [
      'features, mean pooling, no pos embedding',
      { dModel: 6, numHeads: 3, numBlocks: 1, seqLength: 5, positionalEmbedding: false, pooling: 'mean' },
      () => new Rng(14).normal([4, 5, 6]),
    ],
  ];
  cases.forEach(([label, cfg, makeX], c) =>
    it(`batched pass = loop (values and gradients): ${label}`, async ({ annotate }) => {
      const net = new TransformerEncoder(cfg);
      const x = makeX();
      const e = (errors[label] = perSampleVsLoop(net, x, 100 * (c + 1)));
      expect(e.fwd).toBeLessThan(1e-5);
      expect(e.grad).toBeLessThan(1e-5);
      x.dispose();
      if (c === cases.length - 1)
        await annotate(`per-sample vs loop max abs errors (transformer): ${JSON.stringify(errors)}`);
    }),
  );

  it('the comparison sees a mix-up of weight sets (control)', () => {
    const net = new TransformerEncoder(cases[0][1]);
    const x = cases[0][2]();
    expect(mixedUpDifference(net, x, 500)).toBeGreaterThan(1e-2);
    x.dispose();
  });
});

describe('TransformerEncoder: memory, seeds, training', () => {
  it('does not leak tensors across training steps (adam, dropout, causal mask)', async () => {
    const net = new TransformerEncoder({
      dModel: 8,
      numHeads: 2,
      numBlocks: 1,
      seqLength: 4,
      vocabSize: 5,
      causal: true,
      pooling: 'none',
      outputSize: 5,
      dropout: 0.1,
    });
    const vars = createVariables(net.params, new Rng(0), 'auto', 'leak');
    const x = tf.tensor2d(
      [
        [0, 1, 2, 3],
        [4, 3, 2, 1],
      ],
      [2, 4],
      'int32',
    );
    await expectNoLeaksWhileTraining(net, vars, x, 'TransformerEncoder');
    tf.dispose([x, ...Object.values(vars)]);
  });

  it('needs options.rng for dropout in training mode; eval mode ignores dropout', () => {
    const net = new TransformerEncoder({ dModel: 4, numHeads: 2, numBlocks: 1, seqLength: 2, dropout: 0.5 });
    const w = initWeights(net.params, new Rng(0));
    const x = tf.ones([1, 2, 4]);
    expect(() => net.forward(x, w, { training: true })).toThrow(/options\.rng/);
    const a = net.forward(x, w);
    const b = net.forward(x, w, { training: false, rng: new Rng(1) });
    expect(maxAbsDiff(a, b)).toBe(0);
    disposeWeights(w);
    tf.dispose([x, a, b]);
  });

  it('is reproducible from a seed (init and dropout masks)', () => {
    const net = new TransformerEncoder({
      dModel: 8,
      numHeads: 2,
      numBlocks: 2,
      seqLength: 4,
      pooling: 'mean',
      outputSize: 2,
      dropout: 0.3,
    });
    const x = new Rng(3).normal([3, 4, 8]);
    expectReproducibleFromSeed(net, x);
    x.dispose();
  });

  it('learns whether the first and last tokens are equal (≥ 90% held-out accuracy)', async ({ annotate }) => {
    // Needs attention between the two ends of the sequence; a bag of tokens cannot do it.
    const T = 5;
    const V = 4;
    const net = new TransformerEncoder({
      dModel: 16,
      numHeads: 2,
      numBlocks: 1,
      ffSize: 32,
      seqLength: T,
      vocabSize: V,
      outputSize: 1,
    });
    const rng = new Rng(321);
    const vars = createVariables(net.params, rng, 'auto', 'train');
    const batch = (n: number) => {
      const ids = new Int32Array(n * T);
      const labels = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        for (let t = 0; t < T; t++) ids[i * T + t] = rng.int(0, V - 1);
        if (rng.uniform() < 0.5) ids[i * T + T - 1] = ids[i * T]; // balance the classes
        labels[i] = ids[i * T] === ids[i * T + T - 1] ? 1 : 0;
      }
      return { x: tf.tensor2d(ids, [n, T], 'int32'), y: tf.tensor2d(labels, [n, 1]) };
    };
    const steps = 60;
    const { accuracy: acc } = trainBinaryClassifier(net, vars, batch, steps, 0.02);
    await annotate(`Transformer first==last: held-out accuracy ${acc.toFixed(3)} after ${steps} steps`);
    expect(acc).toBeGreaterThanOrEqual(0.9);
    tf.dispose(Object.values(vars));
  });
});
