import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeMismatchError } from './errors/index.js';
import { paramSpec, type ParamSpec } from './params.js';
import { conv2d, convSpecs } from './ops/conv.js';
import { denseSpecs } from './nets/mlp.js';
import { batchNormSpecs } from './ops/batch-norm.js';
import {
  fromTorchLayout,
  fromTorchWeights,
  toTorchLayout,
  toTorchWeights,
  torchLayoutKind,
  torchShape,
} from './torch-layout.js';
import { linear } from './ops/index.js';
import { disposeWeights, maxAbsDiff, useCpu } from './testing/nets.js';

describe('PyTorch layout of ParamSpec tensors', () => {
  beforeAll(useCpu);

  const [convW, convB] = convSpecs('conv', 3, 2, 5, 0, 'relu');
  const [denseW, denseB] = denseSpecs('fc', 4, 3, 1, 'linear');
  const [gamma] = batchNormSpecs('bn', 5, 2);
  const embedding = paramSpec({
    name: 'embedding.weight',
    shape: [10, 4],
    kind: 'embedding',
    layer: 0,
    fanIn: 10,
    fanOut: 4,
  });

  it('torch shapes: conv [cout, cin, kh, kw], dense [out, in], embeddings and rank-1 unchanged', () => {
    expect(torchShape(convW)).toEqual([5, 2, 3, 3]);
    expect(torchShape(denseW)).toEqual([3, 4]);
    expect(torchShape(convB)).toEqual([5]);
    expect(torchShape(denseB)).toEqual([3]);
    expect(torchShape(gamma)).toEqual([5]);
    expect(torchShape(embedding)).toEqual([10, 4]);
    expect([convW, denseW, gamma, embedding].map(torchLayoutKind)).toEqual(['conv', 'dense', 'same', 'same']);
    // Other ranks have no PyTorch counterpart to permute to: unchanged (as @hypernets/graph's rule).
    const odd = paramSpec({ name: 'odd', shape: [2, 3, 4], kind: 'weight', layer: 0, fanIn: 1, fanOut: 1 });
    expect(torchShape(odd)).toEqual([2, 3, 4]);
  });

  it('moves every element where PyTorch keeps it: w[kh, kw, ci, co] = t[co, ci, kh, kw], w[i, o] = t[o, i]', () => {
    const w = tf.randomNormal([3, 3, 2, 5], 0, 1, 'float32', 1);
    const t = toTorchLayout(convW, w);
    expect(t.shape).toEqual([5, 2, 3, 3]);
    const wv = w.arraySync() as number[][][][];
    const tv = t.arraySync() as number[][][][];
    for (let kh = 0; kh < 3; kh++)
      for (let kw = 0; kw < 3; kw++)
        for (let ci = 0; ci < 2; ci++)
          for (let co = 0; co < 5; co++) expect(tv[co][ci][kh][kw]).toBe(wv[kh][kw][ci][co]);
    const back = fromTorchLayout(convW, t);
    expect(maxAbsDiff(back, w)).toBe(0);
    const d = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
    const dt = toTorchLayout(denseW, d);
    expect(dt.shape).toEqual([3, 4]);
    expect((dt.arraySync() as number[][])[2][1]).toBe((d.arraySync() as number[][])[1][2]);
    tf.dispose([w, t, back, d, dt]);
  });

  it('the converted weights compute what PyTorch computes (conv over NCHW = conv over NHWC, x·Wᵀ = x·W)', () => {
    // PyTorch conv as an explicit sum over the torch-layout kernel, against conv2d with the converted one.
    const tKernel = tf.randomNormal([5, 2, 3, 3], 0, 1, 'float32', 3); // [cout, cin, kh, kw]
    const x = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 4); // NHWC
    const y = conv2d(x, fromTorchLayout(convW, tKernel), undefined, { padding: 'valid' });
    const xv = x.arraySync() as number[][][][];
    const kv = tKernel.arraySync() as number[][][][];
    const yv = y.arraySync() as number[][][][];
    for (let oy = 0; oy < 2; oy++)
      for (let ox = 0; ox < 2; ox++)
        for (let co = 0; co < 5; co++) {
          let s = 0;
          for (let ci = 0; ci < 2; ci++)
            for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += kv[co][ci][i][j] * xv[0][oy + i][ox + j][ci];
          expect(Math.abs(yv[0][oy][ox][co] - s)).toBeLessThan(1e-5);
        }
    const tDense = tf.randomNormal([3, 4], 0, 1, 'float32', 5); // nn.Linear(4, 3).weight
    const xd = tf.randomNormal([2, 4], 0, 1, 'float32', 6);
    const yd = linear(xd, fromTorchLayout(denseW, tDense));
    expect(maxAbsDiff(yd, tf.matMul(xd, tDense, false, true))).toBeLessThan(1e-6);
    tf.dispose([tKernel, x, y, tDense, xd, yd]);
  });

  it('keeps a leading batch dimension (per-sample weights) in front', () => {
    const w = tf.randomNormal([2, 3, 3, 2, 5], 0, 1, 'float32', 7);
    const t = toTorchLayout(convW, w);
    expect(t.shape).toEqual([2, 5, 2, 3, 3]);
    const one = toTorchLayout(convW, tf.reshape(tf.slice(w, [1], [1]), [3, 3, 2, 5]));
    expect(maxAbsDiff(tf.reshape(tf.slice(t, [1], [1]), [5, 2, 3, 3]), one)).toBe(0);
    const back = fromTorchLayout(convW, t);
    expect(maxAbsDiff(back, w)).toBe(0);
    const b = tf.ones([2, 5]);
    expect(toTorchLayout(convB, b).shape).toEqual([2, 5]);
    tf.dispose([w, t, one, back, b]);
  });

  it('whole weight sets: round trip, every entry checked before any tensor is made', () => {
    const specs: ParamSpec[] = [convW, convB, gamma, denseW, denseB];
    const w = Object.fromEntries(specs.map((s, i) => [s.name, tf.randomNormal([...s.shape], 0, 1, 'float32', 10 + i)]));
    const t = toTorchWeights(specs, w);
    expect(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.shape]))).toEqual(
      Object.fromEntries(specs.map((s) => [s.name, torchShape(s)])),
    );
    const buffer = tf.zeros([5]);
    const back = fromTorchWeights(specs, { ...t, 'bn.running_mean': buffer }); // extra names are ignored
    for (const s of specs) expect(maxAbsDiff(back[s.name], w[s.name])).toBe(0);
    const before = tf.memory().numTensors;
    expect(() => fromTorchWeights(specs, { ...t, 'fc.weight': w['fc.weight'] })).toThrow(ShapeMismatchError); // [4, 3], torch wants [3, 4]
    expect(() => fromTorchWeights(specs, { ...t, 'fc.weight': w['fc.weight'] })).toThrow(
      /'fc.weight'.*expected \[3, 4\]/,
    );
    const { 'conv.bias': _, ...missing } = t;
    expect(() => fromTorchWeights(specs, missing)).toThrow(/conv.bias/);
    expect(tf.memory().numTensors).toBe(before);
    disposeWeights(w, t, back);
    buffer.dispose();
  });
});
