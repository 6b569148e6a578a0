import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MLP, initBackend, paramSpec, type Weights } from '@hypernets/core';
import { HyperMLP } from './hmlp.js';
import { ChunkedHyperMLP } from './chunked.js';
import type { MLPHyperNetBase } from './base.js';
import { flattenWeights, splitFlat } from './hypernet.js';
import { checkGradients, expectPerSample, maxAbs } from './testing/helpers.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('gradients vs finite differences', () => {
  const target = new MLP({ inputSize: 3, hiddenSizes: [4], outputSize: 2, activation: 'tanh' });
  let x: tf.Tensor;
  let y: tf.Tensor;
  beforeAll(() => {
    x = tf.tensor2d([0.5, -1, 0.3, 1, 0.2, -0.7, -0.4, 0.9, 0.1], [3, 3]);
    y = tf.tensor2d([0.3, -0.2, 0.1, 0.5, -0.4, 0.2], [3, 2]);
  });
  const lossOf = (h: MLPHyperNetBase) => () =>
    tf.tidy(() => {
      const w = h.generate({ id: [0, 1, 2] });
      return tf.mean(tf.square(tf.sub(target.forward(x, w), y))) as tf.Scalar;
    });

  it('HyperMLP', async ({ annotate }) => {
    const h = new HyperMLP({
      target,
      numConditions: 3,
      hiddenSizes: [5],
      activation: 'tanh',
      init: 'default',
      seed: 3,
    });
    const worst = checkGradients(h, lossOf(h));
    await annotate(`HyperMLP worst relative FD error ${worst.toExponential(2)}`);
    h.dispose();
  });

  it('ChunkedHyperMLP (per-condition chunk embeddings)', async ({ annotate }) => {
    const h = new ChunkedHyperMLP({
      target,
      numConditions: 3,
      hiddenSizes: [5],
      activation: 'tanh',
      init: 'default',
      chunkSize: 7,
      chunkEmbeddingSize: 3,
      chunkEmbeddingsPerCondition: true,
      seed: 4,
    });
    const worst = checkGradients(h, lossOf(h));
    await annotate(`ChunkedHyperMLP worst relative FD error ${worst.toExponential(2)}`);
    h.dispose();
  });

  it('ChunkedHyperMLP with MIP on an external input', () => {
    const h = new ChunkedHyperMLP({
      target,
      conditionSize: 2,
      hiddenSizes: [5],
      activation: 'tanh',
      chunkSize: 9,
      mip: true,
      mipOutputScale: 1,
      seed: 5,
    });
    const cond = tf.tensor2d([0.1, 0.9, 0.5, 0.5, 0.8, 0.2], [3, 2]);
    const loss = () =>
      tf.tidy(() => tf.mean(tf.square(tf.sub(target.forward(x, h.generate({ input: cond })), y))) as tf.Scalar);
    checkGradients(h, loss);
    cond.dispose();
    h.dispose();
  });
});

describe('per-sample generation', () => {
  it('B ids → B weight sets → one batched target pass equals B separate passes', () => {
    const target = new MLP({ inputSize: 5, hiddenSizes: [8, 8], outputSize: 3 });
    for (const h of [
      new HyperMLP({ target, numConditions: 6, hiddenSizes: [16], seed: 1 }),
      new ChunkedHyperMLP({ target, numConditions: 6, hiddenSizes: [16], chunkSize: 50, seed: 1 }),
    ]) {
      const ids = [4, 0, 2, 2, 5];
      const x = tf.randomNormal([ids.length, 5], 0, 1, 'float32', 7);
      const w = expectPerSample(h, ids, x, (xi, wi) => target.forward(xi, wi));
      expect(w['fc1.weight']!.shape).toEqual([5, 5, 8]);
      // an id tensor gives the same as an array
      const idt = tf.tensor1d(ids, 'int32');
      const w2 = h.generate({ id: idt });
      expect(maxAbs(w2['fc3.bias']!, w['fc3.bias']!)).toBe(0);
      tf.dispose([x, idt, ...Object.values(w), ...Object.values(w2)]);
      h.dispose();
    }
  });
});

describe('ChunkedHyperMLP chunking', () => {
  it('drops the surplus of the last chunk (hand computation, P = 7, chunk 3)', () => {
    const specs = [
      paramSpec({ name: 'a', shape: [2, 2], kind: 'weight', layer: 0, fanIn: 2, fanOut: 2 }),
      paramSpec({ name: 'b', shape: [3], kind: 'bias', layer: 0, fanIn: 2, fanOut: 3 }),
    ];
    const h = new ChunkedHyperMLP({
      target: specs,
      numConditions: 2,
      embeddingSize: 2,
      chunkEmbeddingSize: 2,
      hiddenSizes: [3],
      activation: 'tanh',
      chunkSize: 3,
      seed: 9,
    });
    expect(h.numChunks).toBe(3);
    const v = (n: string) => Array.from(h.ownWeights()[n]!.dataSync());
    const emb = v('embeddings');
    const ce = v('chunkEmbeddings');
    const w1 = v('fc1.weight'); // [4, 3]
    const b1 = v('fc1.bias');
    const wo = v('out.weight'); // [3, 3]
    const bo = v('out.bias');
    const id = 1;
    const flat: number[] = [];
    for (let c = 0; c < 3; c++) {
      const inp = [emb[id * 2]!, emb[id * 2 + 1]!, ce[c * 2]!, ce[c * 2 + 1]!];
      const hid = [0, 1, 2].map((j) => Math.tanh(b1[j]! + inp.reduce((s, xi, i) => s + xi * w1[i * 3 + j]!, 0)));
      for (let u = 0; u < 3; u++) flat.push(bo[u]! + hid.reduce((s, hj, j) => s + hj * wo[j * 3 + u]!, 0));
    }
    expect(flat.length).toBe(9);
    const w = h.generate({ id });
    expect(w.a!.shape).toEqual([2, 2]);
    expect(w.b!.shape).toEqual([3]);
    const got = [...w.a!.dataSync(), ...w.b!.dataSync()];
    got.forEach((g, i) => expect(Math.abs(g - flat[i]!)).toBeLessThan(1e-5));
    tf.dispose(Object.values(w));
    h.dispose();
  });
});

describe('nesting, seeds, errors', () => {
  it('a HyperMLP generates the weights of another HyperNet (per-sample nested pass)', () => {
    const target = new MLP({ inputSize: 2, hiddenSizes: [4], outputSize: 1 });
    const inner = new HyperMLP({ target, numConditions: 3, hiddenSizes: [6], seed: 1 });
    const outer = new HyperMLP({ target: inner, numConditions: 2, hiddenSizes: [8], seed: 2 });
    const wInner = outer.generate({ id: [0, 1, 1] }); // 3 weight sets for the inner net
    expect(wInner.embeddings!.shape).toEqual([3, 3, 8]);
    const ids = tf.tensor1d([2, 0, 1], 'int32');
    const flat = inner.forward(ids, wInner); // sample i: inner net i, condition ids[i]
    expect(flat.shape).toEqual([3, inner.numTargetParams]);
    for (let i = 0; i < 3; i++) {
      const one: Weights = {};
      for (const s of inner.params) one[s.name] = tf.squeeze(tf.slice(wInner[s.name]!, [i], [1]), [0]);
      const fi = inner.forward(tf.slice(ids, [i], [1]), one);
      expect(maxAbs(fi, tf.slice(flat, [i], [1]))).toBeLessThan(1e-5);
    }
    const tw = inner.splitTarget(flat);
    expect(tw['fc1.weight']!.shape).toEqual([3, 2, 4]);
    // gradients reach the outer net's variables through the inner forward
    const { grads, value } = tf.variableGrads(
      () => tf.sum(tf.square(inner.forward(ids, outer.generate({ id: [0, 1, 1] })))) as tf.Scalar,
      outer.trainableVariables(),
    );
    expect(Object.keys(grads).length).toBe(outer.trainableVariables().length);
    tf.dispose([value, ids, flat, ...Object.values(grads), ...Object.values(wInner), ...Object.values(tw)]);
    inner.dispose();
    outer.dispose();
  });

  it('same seed → same generated weights; different seed → different', () => {
    const target = new MLP({ inputSize: 4, hiddenSizes: [8], outputSize: 2 });
    const gen = (seed: number) => {
      const h = new ChunkedHyperMLP({ target, numConditions: 2, chunkSize: 10, hiddenSizes: [8], seed });
      const w = h.generate({ id: 1 });
      const flat = Array.from(tf.concat(target.params.map((s) => tf.reshape(w[s.name]!, [-1]))).dataSync());
      tf.dispose(Object.values(w));
      h.dispose();
      return flat;
    };
    expect(gen(5)).toEqual(gen(5));
    expect(gen(5)).not.toEqual(gen(6));
  });

  it('unconditional generation and clear errors', () => {
    const target = new MLP({ inputSize: 2, hiddenSizes: [3], outputSize: 1 });
    const h = new HyperMLP({ target, hiddenSizes: [4] });
    const w = h.generate();
    expect(w['fc1.weight']!.shape).toEqual([2, 3]);
    tf.dispose(Object.values(w));
    expect(() => h.generate({ id: 0 })).toThrow(/numConditions/);
    const c = new HyperMLP({ target, numConditions: 2, hiddenSizes: [4] });
    expect(() => c.generate({ id: 2 })).toThrow(/id 2 is not in \[0, 1\]/);
    expect(() => c.generate()).toThrow(/pass a condition/);
    expect(() => new HyperMLP({ target, numConditions: 2, mip: true })).toThrow(/conditionSize/);
    h.dispose();
    c.dispose();
  });
});

describe("flat order 'torch' (PyTorch's [out, in] layout of generated weights)", () => {
  const specs = [
    paramSpec({ name: 'w', shape: [2, 3], kind: 'weight', layer: 1, fanIn: 2, fanOut: 3 }),
    paramSpec({ name: 'b', shape: [3], kind: 'bias', layer: 1, fanIn: 2, fanOut: 3 }),
    paramSpec({ name: 'k', shape: [1, 2, 2, 2], kind: 'weight', layer: 2, fanIn: 4, fanOut: 2 }),
  ];
  const P = 6 + 3 + 8;
  it('reads each weight tensor as PyTorch lays it out (by hand), biases unchanged, and round-trips', () => {
    const flat = tf.range(0, P, 1, 'float32');
    const w = splitFlat(specs, flat, 'test', 'torch');
    // w[i][o] = flat[o · 2 + i] (torch W is [out=3, in=2])
    expect(w.w!.arraySync()).toEqual([
      [0, 2, 4],
      [1, 3, 5],
    ]);
    expect(Array.from(w.b!.dataSync())).toEqual([6, 7, 8]);
    // conv: native [kh=1, kw=2, in=2, out=2]; torch [out, in, kh, kw]: k[0][x][c][o] = 9 + o·4 + c·2 + x
    const k = w.k!.arraySync() as number[][][][];
    for (let x = 0; x < 2; x++)
      for (let c = 0; c < 2; c++) for (let o = 0; o < 2; o++) expect(k[0]![x]![c]![o]).toBe(9 + o * 4 + c * 2 + x);
    expect(Array.from(flattenWeights(specs, w, 'torch').dataSync())).toEqual(Array.from(flat.dataSync()));
    // native: plain reshape
    expect(splitFlat(specs, flat).w!.arraySync()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    // batched [N, P]: every row as on its own
    const rows = tf.stack([flat, tf.mul(flat, -1)]);
    const wb = splitFlat(specs, rows, 'test', 'torch');
    expect((wb.w!.arraySync() as number[][][])[1]).toEqual([
      [-0, -2, -4],
      [-1, -3, -5],
    ]);
    expect((wb.k!.arraySync() as number[][][][][])[0]).toEqual(k);
  });
  it('a ChunkedHyperMLP with flatOrder torch generates the transpose of its flat output', () => {
    const target = new MLP({ inputSize: 3, hiddenSizes: [4], outputSize: 2 });
    const hnet = new ChunkedHyperMLP({
      target,
      numConditions: 1,
      embeddingSize: 3,
      hiddenSizes: [5],
      chunkSize: 7,
      chunkEmbeddingSize: 2,
      flatOrder: 'torch',
      seed: 1,
    });
    const flat = tf.reshape(hnet.forward(tf.tensor1d([0], 'int32'), hnet.ownWeights()), [-1]);
    const w = hnet.generate({ id: 0 });
    const f = flat.dataSync();
    const w1 = w['fc1.weight']!.arraySync() as number[][]; // [3, 4], torch [4, 3] first in the flat output
    for (let i = 0; i < 3; i++) for (let o = 0; o < 4; o++) expect(w1[i]![o]).toBe(f[o * 3 + i]);
    expect(() => new ChunkedHyperMLP({ target, numConditions: 1, chunkSize: 7, flatOrder: 'tf' as never })).toThrow(
      /flatOrder/,
    );
  });
});
