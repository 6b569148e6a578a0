import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MLP, initBackend, paramSpec } from '@hypernets/core';
import { batchGraphs } from './batch.js';
import { archGraph } from './describe.js';
import { GHN2 } from './ghn2.js';
import {
  cropParams,
  decode,
  mapNetParams,
  nodeParams,
  normalize,
  predictedShape,
  setParams,
  tileParams,
  type DecoderGroup,
} from './ghn2-predict.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const MAX = [8, 8, 3, 3] as const;
/** 3 → 4 → 2: nodes input, fc1.weight [4, 3], fc1.bias, fc2.weight [2, 4] (the classifier), fc2.bias (the class bias). */
const tiny = () => archGraph(new MLP({ inputSize: 3, hiddenSizes: [4], outputSize: 2 }));
const arr = (t: tf.Tensor) => t.arraySync();

describe("GHN-2's prediction steps (ppuda's _map_net_params, decoders, _tile_params, _normalize, _set_params)", () => {
  it('mapNetParams groups the parameter nodes by decoder key, with batch rows and 1-D rows', () => {
    const g = tiny();
    const groups = mapNetParams([g, g], [0, 5], MAX);
    // min_sz: 4 → 8 (≥ max/2), 3 → 4 → 8; the classifier [2, 4] → [2, 8]; the class bias [2, -1]
    expect([...groups.keys()]).toEqual(['8,8,1,1', '8,0', '2,8', '2,-1']);
    const jobs = (id: string) =>
      groups.get(id)!.jobs.map(({ job, slot }) => [job.graph, job.node, job.spec.name, job.row, job.isWeight, slot]);
    expect(groups.get('8,8,1,1')!.nodes).toEqual([1, 6]); // the second graph starts at row 5
    expect(jobs('8,8,1,1')).toEqual([
      [0, 1, 'fc1.weight', null, true, 0],
      [1, 1, 'fc1.weight', null, true, 1],
    ]);
    expect(jobs('8,0')).toEqual([
      [0, 2, 'fc1.bias', 1, false, 0],
      [1, 2, 'fc1.bias', 1, false, 1],
    ]);
    expect(groups.get('2,-1')!.nodes).toEqual([4, 9]);
  });

  it('decode sends each group to the decoder its key names, with its nodes’ embeddings', () => {
    const x = tf.tensor2d([[0], [1], [2], [3]]);
    const calls: unknown[] = [];
    const decoders = {
      conv: (xg: tf.Tensor, key: readonly number[], classPred: boolean) => (
        calls.push(['conv', arr(xg), [...key], classPred]),
        xg
      ),
      oneD: (xg: tf.Tensor, classBias: boolean, key: readonly number[]) => (
        calls.push(['1d', arr(xg), [...key], classBias]),
        xg
      ),
    };
    const group = (key: number[], nodes: number[]): DecoderGroup => ({ key, nodes, jobs: [] });
    decode(x, group([8, 8, 3, 3], [3, 1]), decoders);
    decode(x, group([2, 8], [2]), decoders);
    decode(x, group([8, 0], [0]), decoders);
    decode(x, group([2, -1], [1]), decoders);
    expect(calls).toEqual([
      ['conv', [[3], [1]], [8, 8, 3, 3], false],
      ['conv', [[2]], [2, 8, 1, 1], true],
      ['1d', [[0]], [8, 0], false],
      ['1d', [[1]], [2, -1], true],
    ]);
  });

  it('nodeParams takes one slot of a group output, and one row of a 1-D output', () => {
    const out = tf.tensor3d([
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [7, 8, 9],
        [10, 11, 12],
      ],
    ]); // [2 nodes, 2 rows, 3]
    expect(arr(nodeParams(out, 1, null))).toEqual([
      [7, 8, 9],
      [10, 11, 12],
    ]);
    expect(arr(nodeParams(out, 1, 0))).toEqual([7, 8, 9]);
    expect(arr(nodeParams(out, 0, 1))).toEqual([4, 5, 6]);
  });

  it('cropParams crops to the target from the corner (index 0 of extra dims) and refuses kernels it cannot fill', () => {
    const w = tf.reshape(tf.range(0, 3 * 4 * 2 * 2), [3, 4, 2, 2]); // [o, i, kh, kw]
    const at = (o: number, i: number, h = 0, k = 0) => ((o * 4 + i) * 2 + h) * 2 + k;
    expect(arr(cropParams(w, [2, 3], 'fc.weight', 'g'))).toEqual([0, 1].map((o) => [0, 1, 2].map((i) => at(o, i))));
    expect(arr(cropParams(w, [2, 1, 1, 1], 'conv.weight', 'g'))).toEqual([[[[at(0, 0)]]], [[[at(1, 0)]]]]);
    expect(arr(cropParams(tf.tensor1d([1, 2, 3]), [2], 'b', 'g'))).toEqual([1, 2]);
    expect(() => cropParams(w, [2, 2, 3, 3], 'conv.weight', 'g')).toThrow(
      /'conv.weight' has 3×3 kernels, larger than the GHN predicts \(2×2\)/,
    );
    expect(() => cropParams(w, [2, 2, 2], 'x', 'g')).toThrow(/predicts 1-, 2- and 4-D parameters/);
  });

  it('tileParams repeats a small prediction along out/in channels and slices to the spec, in the target layout', () => {
    const small = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]); // PyTorch [out 2, in 2]: value (o, i) = small[o][i]
    // dense [in 5, out 3] (tfjs layout): ppuda tiles [out, in] and slices, so (i, o) = small[o % 2][i % 2]
    const dense = paramSpec({ name: 'fc.weight', shape: [5, 3], kind: 'weight', layer: 0, fanIn: 5, fanOut: 3 });
    const want = [0, 1, 2, 3, 4].map((i) =>
      [0, 1, 2].map(
        (o) =>
          [
            [1, 2],
            [3, 4],
          ][o % 2]![i % 2]!,
      ),
    );
    expect(arr(tileParams(small, dense, false))).toEqual(want);
    // conv [kh 1, kw 1, cin 3, cout 2] from [out 2, in 2, 1, 1]
    const conv = paramSpec({ name: 'c.weight', shape: [1, 1, 3, 2], kind: 'weight', layer: 0, fanIn: 3, fanOut: 2 });
    expect(arr(tileParams(tf.reshape(small, [2, 2, 1, 1]), conv, false))).toEqual([
      [
        [0, 1, 2].map((i) =>
          [0, 1].map(
            (o) =>
              [
                [1, 2],
                [3, 4],
              ][o]![i % 2]!,
          ),
        ),
      ],
    ]);
    // 1-D: repeated, then sliced
    const bias = paramSpec({ name: 'fc.bias', shape: [5], kind: 'bias', layer: 0, fanIn: 5, fanOut: 3 });
    expect(arr(tileParams(tf.tensor1d([1, 2]), bias, false))).toEqual([1, 2, 1, 2, 1]);
    // depthwise [kh 1, kw 1, C 2, m 2] from a [C·m 2, 1, 1, 1] prediction: tiled to C·m = 4
    const dw = paramSpec({ name: 'dw.weight', shape: [1, 1, 2, 2], kind: 'weight', layer: 0, fanIn: 1, fanOut: 2 });
    expect(predictedShape(dw, true)).toEqual([4, 1, 1, 1]);
    expect(arr(tileParams(tf.reshape(tf.tensor1d([5, 6]), [2, 1, 1, 1]), dw, true))).toEqual([
      [
        [
          [5, 6],
          [5, 6],
        ],
      ],
    ]);
  });

  it('normalize applies the formula of decode.ts', () => {
    const p = [-1.5, 0, 0.5, 2];
    const w = tf.tensor1d(p);
    const close = (t: tf.Tensor, f: (v: number) => number) =>
      (t.arraySync() as number[]).forEach((v, k) => expect(v).toBeCloseTo(f(p[k]!), 6));
    close(normalize(w, [4, 3, 3, 3], true), (v) => v * Math.sqrt(2 / 27)); // followed by ReLU: β = 2
    close(normalize(w, [4, 1, 3, 3], true), (v) => v * Math.sqrt(1 / 9)); // depthwise: β = 1, fan-in 9
    close(normalize(w, [4, 6], true), (v) => v * Math.sqrt(2 / 6));
    close(normalize(w, [4], true), (v) => 2 / (1 + Math.exp(-0.5 * v))); // norm scale
    close(normalize(w, [4], false), (v) => Math.tanh(0.2 * v)); // bias / shift
    close(normalize(w, [1, 4, 11, 2], true), (v) => v); // positional encodings: left alone
  });

  it('setParams lists what each graph got and what no node predicted', () => {
    const g = tiny();
    const one = tf.ones([1]);
    const [a, b] = setParams([g, g], [{ 'fc1.weight': one }, {}]);
    expect(Object.keys(a!.weights)).toEqual(['fc1.weight']);
    expect(a!.missing).toEqual(['fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(b!.missing).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
  });

  it('chained by hand, the steps give what GHN2.predict gives', () => {
    const ghn = new GHN2({ hid: 8, maxShape: MAX, numClasses: 2, seed: 3 });
    const g = tiny();
    const dec = ghn as unknown as {
      convDecoder(x: tf.Tensor, k: readonly number[], c: boolean): tf.Tensor;
      decoder1d(x: tf.Tensor, c: boolean, k: readonly number[]): tf.Tensor;
    };
    const [p] = ghn.predict(g);
    const x = ghn.nodeEmbeddings(batchGraphs([g], ghn.vocab, ghn.config.sMax));
    const decoders = { conv: dec.convDecoder.bind(ghn), oneD: dec.decoder1d.bind(ghn) };
    let checked = 0;
    for (const group of mapNetParams([g], [0], MAX).values()) {
      const out = decode(x, group, decoders);
      for (const { job, slot } of group.jobs) {
        const t = predictedShape(job.spec, job.depthwise);
        const w = tileParams(
          normalize(cropParams(nodeParams(out, slot, job.row), t, job.spec.name, g.name), t, job.isWeight),
          job.spec,
          job.depthwise,
        );
        expect(w.shape).toEqual([...job.spec.shape]);
        expect(arr(w)).toEqual(arr(p!.weights[job.spec.name]!));
        checked++;
      }
    }
    expect(checked).toBe(4);
    ghn.dispose();
  });
});
