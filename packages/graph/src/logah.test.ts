import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, MLP, initBackend, lenet5, resnet18, resnet20 } from '@hypernets/core';
import { batchGraphs } from './batch.js';
import { archGraph } from './describe.js';
import { LoGAH } from './logah.js';

beforeAll(async () => {
  await initBackend('wasm');
});

type Mat = number[][];
const rows = (t: tf.Tensor): Mat => t.arraySync() as Mat;

/** ConvDecoder3LoRA.forward up to W = A·B, in loops: the [cOut·kOut, cIn·kIn] matrix for one embedding. */
function lowRankRef(ghn: LoGAH, x: number[], cOut: number, cIn: number, kOut: number, kIn: number): Mat {
  const w = ghn.ownWeights();
  const W = (n: string) => rows(w[n]!);
  const b = (n: string) => w[n]!.arraySync() as number[];
  const lin = (name: string, v: number[]) =>
    W(`${name}.weight`).map((r, o) => r.reduce((s, wi, i) => s + wi * v[i]!, b(`${name}.bias`)[o]!));
  const relu = (v: number[]) => v.map((u) => Math.max(0, u));
  const { rank: r, maxCk: ck } = ghn.config;
  const h = lin('decoder.mlp.fc.4', relu(lin('decoder.mlp.fc.2', relu(lin('decoder.mlp.fc.0', x))))); // 2r²
  const L: number[] = []; // [2r, ck] row-major
  for (let j = 0; j < 2 * r; j++) L.push(...lin('decoder.l2', relu(h.slice(j * r, (j + 1) * r))));
  const row = (p: number) => L.slice(p * r, (p + 1) * r); // the same numbers read as [2·ck, r]
  return Array.from({ length: cOut * kOut }, (_, a) =>
    Array.from({ length: cIn * kIn }, (_, c) => row(a).reduce((s, v, k) => s + v * row(ck + c)[k]!, 0)),
  );
}

/** Sets a variable from plain numbers. */
function put(ghn: LoGAH, name: string, values: number[]): void {
  const v = ghn.ownWeights()[name] as tf.Variable;
  v.assign(tf.tensor(values, v.shape));
}

describe('LoGAH (low-rank decoder)', () => {
  it("defaults: hid 64, rank hid/2, max_shape (2048, 2048, 16, 16), maxCk 16·2048, no 1-D decoder (only LoGAH's unused 1×1 layers)", () => {
    const g = new LoGAH();
    expect(g.config).toMatchObject({
      hid: 64,
      rank: 32,
      maxCk: 32768,
      maxShape: [2048, 2048, 16, 16],
      use1dDecoder: false,
      heads: 8,
      layers: 3,
    });
    // LoGAH's GHN3(hid=64, heads=8, layers=3, lora=True, lora_r=32, max_ck_lora=32768, use_1d_decoder=False):
    // 2,540,380 parameters ("Hid=64: max_shape=2048: 2.54" M in its compute_params.py)
    expect(g.numParams).toBe(2_540_380);
    const shape = (n: string) => g.ownWeights()[n]!.shape;
    expect(shape('decoder.mlp.fc.4.weight')).toEqual([2 * 32 * 32, 8 * 64]);
    expect(shape('decoder.l2.weight')).toEqual([32768, 32]);
    expect(shape('decoder.l1.weight')).toEqual([32, 32]);
    expect(shape('decoder_1d.0.weight')).toEqual([1, 1]);
    expect(
      g.params.map((p) => p.name).filter((n) => n.startsWith('decoder.conv') || n.startsWith('decoder.fc')),
    ).toEqual([]);
    g.dispose();
    expect(() => new LoGAH({ hid: 8, heads: 2, rank: 0 })).toThrow(ConfigError);
  });

  it('W = A·Bᵀ by hand: r = 2, ck = 3, the MLP output fixed to [1, 2, 0, 1, 1, 0, 2, -1]', () => {
    const ghn = new LoGAH({ hid: 4, heads: 2, layers: 1, rank: 2, maxCk: 3, maxShape: [64, 64, 3, 3] });
    // zero MLP weights: its output is the last bias; l2 = [[1, 0], [0, 1], [1, 1]], no bias
    for (const n of ['decoder.mlp.fc.0', 'decoder.mlp.fc.2', 'decoder.mlp.fc.4'])
      put(ghn, `${n}.weight`, new Array(ghn.ownWeights()[`${n}.weight`]!.size).fill(0));
    put(ghn, 'decoder.mlp.fc.0.bias', new Array(16).fill(0));
    put(ghn, 'decoder.mlp.fc.2.bias', new Array(32).fill(0));
    put(ghn, 'decoder.mlp.fc.4.bias', [1, 2, 0, 1, 1, 0, 2, -1]);
    put(ghn, 'decoder.l2.weight', [1, 0, 0, 1, 1, 1]);
    put(ghn, 'decoder.l2.bias', [0, 0, 0]);
    // view [4, 2]: (1, 2), (0, 1), (1, 0), (2, −1) → ReLU → (2, 0); · l2ᵀ → rows (1, 2, 3), (0, 1, 1), (1, 0, 1), (2, 0, 2)
    // read as [6, 2]: A = (1, 2), (3, 0), (1, 1); Bᵗ = (1, 0), (1, 2), (0, 2)
    const W = [
      [1, 5, 4],
      [3, 3, 0],
      [1, 3, 2],
    ];
    const x = tf.tensor2d([[0.3, -1, 2, 0.5]]);
    expect(rows(tf.squeeze(ghn.lowRank(x, 3, 3, 1, 1), [0]))).toEqual(W);
    expect(lowRankRef(ghn, [0.3, -1, 2, 0.5], 3, 3, 1, 1)).toEqual(W);
    // the decoders: a classifier [2, 3] = W[:2, :3]; a 1-D key c = 1: A[:2]·Bᵗ[:1]ᵀ = (1, 3) as (weight, bias);
    // a 3×3 kernel [1, 1, 3, 3]: W[k_out, k_in]; a [3, 1, 1, 1] kernel: W[:3, :1]
    const dec = ghn as unknown as {
      convDecoder(x: tf.Tensor, k: number[], c: boolean): tf.Tensor;
      decoder1d(x: tf.Tensor, c: boolean, k: number[]): tf.Tensor;
    };
    expect(rows(dec.convDecoder(x, [2, 3], true))).toEqual([W.slice(0, 2)]);
    expect(rows(dec.decoder1d(x, false, [1, 0]))).toEqual([[[1], [3]]]);
    expect(rows(dec.convDecoder(x, [1, 1, 3, 3], false))).toEqual([[[W]]]);
    expect(rows(dec.convDecoder(x, [3, 1, 1, 1], false))).toEqual([[[[[1]]], [[[3]]], [[[1]]]]]);
    expect(() => ghn.lowRank(x, 4, 1, 1, 1)).toThrow(/maxCk ≥ 4/);
    x.dispose();
    ghn.dispose();
  });

  it('a 4-D key reshapes [c_out·k_out, c_in·k_in] to [c_out, c_in, k_out, k_in] (rows (o, kh), columns (i, kw))', () => {
    const ghn = new LoGAH({ hid: 8, heads: 2, layers: 1, rank: 3, maxCk: 16, maxShape: [64, 64, 3, 3], seed: 3 });
    const x = [0.5, -0.2, 0.1, 1, -1, 0.3, 0.7, -0.4];
    const ref = lowRankRef(ghn, x, 2, 5, 3, 3); // [6, 15]
    const dec = ghn as unknown as { convDecoder(x: tf.Tensor, k: number[], c: boolean): tf.Tensor };
    const got = dec.convDecoder(tf.tensor2d([x]), [2, 5, 3, 3], false).arraySync() as number[][][][][];
    let err = 0;
    for (let o = 0; o < 2; o++)
      for (let i = 0; i < 5; i++)
        for (let a = 0; a < 3; a++)
          for (let c = 0; c < 3; c++)
            err = Math.max(err, Math.abs(got[0]![o]![i]![a]![c]! - ref[o * 3 + a]![i * 3 + c]!));
    expect(err).toBeLessThan(1e-5);
    ghn.dispose();
  });

  it("predicts an MLP's layers whole: fc1.weight = fan-in-normalised A·Bᵀ of its node, fc1.bias = tanh(0.2·row 1)", () => {
    const ghn = new LoGAH({ hid: 8, heads: 2, layers: 2, rank: 3, maxCk: 16, maxShape: [64, 64, 3, 3], seed: 5 });
    const net = new MLP({ inputSize: 5, hiddenSizes: [7], outputSize: 4 });
    const graph = archGraph(net);
    expect(graph.nodes.map((n) => n.name)).toEqual(['input', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    const x = rows(ghn.nodeEmbeddings(batchGraphs([graph], ghn.vocab, ghn.config.sMax)));
    const [p] = ghn.predict(graph);
    const w1 = rows(p!.weights['fc1.weight']!); // tfjs [in 5, out 7]
    const ref1 = lowRankRef(ghn, x[1]!, 7, 5, 1, 1); // torch [out 7, in 5], key (7, 5, 1, 1)
    const b1 = p!.weights['fc1.bias']!.arraySync() as number[];
    const ref1d = lowRankRef(ghn, x[2]!, 14, 1, 1, 1).map((r) => r[0]!); // key (7, 0): rows (scale, bias) of 7
    const w2 = rows(p!.weights['fc2.weight']!); // classifier, key (4, 7)
    const ref2 = lowRankRef(ghn, x[3]!, 4, 7, 1, 1);
    let err = 0;
    for (let o = 0; o < 7; o++) {
      for (let i = 0; i < 5; i++) err = Math.max(err, Math.abs(w1[i]![o]! - ref1[o]![i]! * Math.sqrt(2 / 5)));
      err = Math.max(err, Math.abs(b1[o]! - Math.tanh(0.2 * ref1d[7 + o]!)));
      for (let c = 0; c < 4; c++) err = Math.max(err, Math.abs(w2[o]![c]! - ref2[c]![o]! * Math.sqrt(2 / 7)));
    }
    expect(err).toBeLessThan(1e-5);
    tf.dispose(Object.values(p!.weights));
    ghn.dispose();
  });

  it('is differentiable: gradients reach the low-rank decoder and the Graphormer; l1 and the unused 1×1 layers get none, as in LoGAH', () => {
    const ghn = new LoGAH({ hid: 8, heads: 2, layers: 1, rank: 3, maxCk: 128, maxShape: [16, 16, 5, 5], seed: 7 });
    const graph = archGraph(lenet5());
    const { value, grads } = tf.variableGrads(() => {
      const [p] = ghn.predict(graph);
      return tf.addN(Object.values(p!.weights).map((w) => tf.mean(tf.square(w)))) as tf.Scalar;
    }, ghn.trainableVariables());
    const byName = new Map(ghn.params.map((p) => [(ghn.ownWeights()[p.name] as tf.Variable).name, p.name]));
    const got = Object.keys(grads)
      .map((k) => byName.get(k)!)
      .sort();
    const unused = [
      'decoder.l1.weight',
      'decoder.l1.bias',
      'decoder_1d.0.weight',
      'decoder_1d.0.bias',
      'bias_class.1.weight',
      'bias_class.1.bias',
    ];
    expect(got).toEqual(
      ghn.params
        .map((p) => p.name)
        .filter((n) => !unused.includes(n))
        .sort(),
    );
    for (const g of Object.values(grads)) expect(tf.tidy(() => Number.isFinite(tf.norm(g).dataSync()[0]!))).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    ghn.dispose();
  });

  it.each([
    ['MLP', () => new MLP({ inputSize: 20, hiddenSizes: [16, 16], outputSize: 10 })],
    ['LeNet-5', () => lenet5()],
    ['ResNet-20', () => resnet20()],
    ['ResNet-18', () => resnet18({ inputShape: [32, 32, 3] })],
  ])("predicts all of %s's parameters, finite, with no tensor leaks (with and without the 1-D decoder)", (_, make) => {
    const net = make();
    for (const use1dDecoder of [false, true]) {
      const ghn = new LoGAH({
        hid: 16,
        heads: 4,
        layers: 2,
        maxShape: [128, 128, 16, 16],
        maxCk: 2048,
        use1dDecoder,
        seed: 6,
      });
      const before = tf.memory().numTensors;
      const [p] = ghn.predict(archGraph(net));
      expect(p!.missing).toEqual([]);
      for (const s of net.params) {
        expect(p!.weights[s.name]!.shape, s.name).toEqual([...s.shape]);
        expect(
          tf.tidy(() => tf.all(tf.isFinite(p!.weights[s.name]!)).dataSync()[0]),
          s.name,
        ).toBe(1);
      }
      tf.dispose(Object.values(p!.weights));
      expect(tf.memory().numTensors).toBe(before);
      ghn.dispose();
    }
  });
});
