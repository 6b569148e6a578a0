import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  CheckpointError,
  MLP,
  TransformerEncoder,
  decodeSafetensors,
  initBackend,
  lenet5,
  resnet18,
  resnet20,
  type TargetNet,
} from '@hypernets/core';
import { archGraph } from './describe.js';
import { GHN2 } from './ghn2.js';
import { GHN3, type Ghn3Config } from './ghn3.js';
import { LoGAH } from './logah.js';
import { ghnFromSafetensors, ghnToSafetensors, loadGhnFromBytes } from './io.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const coreNets = (): [string, TargetNet][] => [
  ['MLP', new MLP({ inputSize: 20, hiddenSizes: [16, 16], outputSize: 10 })],
  ['LeNet-5 (5×5 kernels)', lenet5()],
  ['ResNet-20', resnet20()],
  ['ResNet-18', resnet18({ inputShape: [32, 32, 3] })],
  [
    'a transformer encoder',
    new TransformerEncoder({ dModel: 16, numHeads: 2, numBlocks: 2, seqLength: 6, inputSize: 8, outputSize: 5 }),
  ],
];

/** Predicts every ParamSpec of `net` with finite values of the right shapes, twice, without leaking tensors. */
function expectFullPrediction(ghn: GHN2, net: TargetNet): void {
  const graph = archGraph(net);
  const before = tf.memory().numTensors;
  for (let rep = 0; rep < 2; rep++) {
    const [p] = ghn.predict(graph);
    expect(p!.missing).toEqual(graph.unsupported);
    expect(Object.keys(p!.weights).sort()).toEqual(
      net.params
        .map((s) => s.name)
        .filter((n) => !graph.unsupported.includes(n))
        .sort(),
    );
    for (const s of net.params.filter((q) => q.name in p!.weights)) {
      const w = p!.weights[s.name]!;
      expect(w.shape, s.name).toEqual([...s.shape]);
      expect(
        tf.tidy(() => tf.all(tf.isFinite(w)).dataSync()[0]),
        `${s.name} finite`,
      ).toBe(1);
    }
    tf.dispose(Object.values(p!.weights));
    expect(tf.memory().numTensors).toBe(before);
  }
}

describe('GHN3', () => {
  it("defaults: GHN-3-T's hid 64, 3 layers, 8 heads, max_shape (hid, hid, 11, 11); 16 heads past hid 64; GHN-2 mode (2·hid, 2·hid)", () => {
    const g = new GHN3();
    expect(g.config).toMatchObject({
      hid: 64,
      layers: 3,
      heads: 8,
      isGhn2: false,
      maxShape: [64, 64, 11, 11],
      numClasses: 10,
      sMax: 50,
      layernorm: true,
      weightNorm: true,
    });
    expect(g).toBeInstanceOf(GHN2);
    const names = g.params.map((p) => p.name);
    expect(names).toContain('gnn.2.ff.net.3.weight');
    expect(names).toContain('gnn.0.centrality_embed_in.weight');
    expect(names.some((n) => n.startsWith('gnn.gru') || n.startsWith('gnn.1.attn.proj_e'))).toBe(false);
    expect(g.ownWeights()['decoder.conv.2.weight']!.shape).toEqual([64 * 64, 8 * 64]);
    g.dispose();
    const big = new GHN3({ hid: 128, layers: 1, numClasses: 1000 });
    expect(big.config).toMatchObject({ heads: 16, maxShape: [128, 128, 16, 16] });
    big.dispose();
    const two = new GHN3({ isGhn2: true });
    expect(two.config).toMatchObject({ hid: 32, isGhn2: true, maxShape: [64, 64, 11, 11] });
    expect(two.params.map((p) => p.name)).toContain('gnn.gru.weight_ih');
    expect(two.ownWeights()['decoder.conv.0.weight']!.shape).toEqual([256, 128]);
    two.dispose();
  });

  it("has as many parameters as ghn3's GHN3 of the same config (sum of numel over GHN3.parameters())", () => {
    // counted with ghn3 b3289ac: GHN3(hid=64, layers=3, heads=8, max_shape=(64, 64, 16, 16), num_classes=1000,
    // weight_norm=True, ve=True, layernorm=True) — GHN-3-T/m8 for ImageNet, ghn3tm8.pt's 27 MB — and its GHN-2 mode
    const t = new GHN3({ numClasses: 1000 });
    expect(t.numParams).toBe(6_906_632);
    t.dispose();
    const two = new GHN3({ isGhn2: true, numClasses: 1000 });
    expect(two.numParams).toBe(2_319_720);
    two.dispose();
  });

  it('is differentiable end to end: every variable gets a finite gradient through predict', () => {
    const ghn = new GHN3({ hid: 8, heads: 2, layers: 2, maxShape: [8, 8, 3, 3], seed: 13 });
    const graph = archGraph(lenet5()); // 5×5 kernels: the bilinear upsampling is on the path
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const [p] = ghn.predict(graph);
      return tf.addN(Object.values(p!.weights).map((w) => tf.mean(tf.square(w)))) as tf.Scalar;
    }, ghn.trainableVariables());
    expect(Object.keys(grads).length).toBe(ghn.params.length);
    const norm = (n: string) =>
      tf.tidy(() => tf.norm(grads[(ghn.ownWeights()[n] as tf.Variable).name]!).dataSync()[0]!);
    for (const p of ghn.params) expect(Number.isFinite(norm(p.name)), p.name).toBe(true);
    for (const n of [
      'decoder.conv.2.weight',
      'gnn.0.attn.proj_e.2.weight',
      'gnn.1.attn.to_qkv.weight',
      'shape_enc.embed_spatial.weight',
    ])
      expect(norm(n), n).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    ghn.dispose();
  });

  it('initialises as ghn3: truncated-normal embeddings with std d^-½, last decoder layers / 5 with zero biases', () => {
    const g = new GHN3({ hid: 32, seed: 1 });
    const w = g.ownWeights();
    const std = (t: tf.Tensor) => tf.tidy(() => Math.sqrt(tf.moments(t).variance.dataSync()[0]!));
    expect(std(w['gnn.0.input_dist_embed.weight']!)).toBeCloseTo(32 ** -0.5, 1);
    expect(std(w['shape_enc.embed_channel.weight']!)).toBeCloseTo(8 ** -0.5, 1);
    for (const n of ['decoder.conv.2.bias', 'decoder_1d.fc.2.bias', 'decoder.class_layer_predictor.1.bias'])
      expect(tf.tidy(() => tf.max(tf.abs(w[n]!)).dataSync()[0])).toBe(0);
    expect(tf.tidy(() => tf.max(tf.abs(w['decoder.conv.2.weight']!)).dataSync()[0]!)).toBeLessThanOrEqual(
      1 / Math.sqrt(256) / 5 + 1e-7,
    );
    g.dispose();
  });

  it('rejects bad configs with the field named', () => {
    expect(() => new GHN3({ hid: 32, heads: 3 })).toThrow(ConfigError);
    expect(() => new GHN3({ hid: 32, layers: 0 })).toThrow(/layers/);
    expect(() => new GHN3({ hid: 32, virtualEdges: 300 })).toThrow(/edge embedding/);
  });

  describe.each<[string, Ghn3Config]>([
    ['GHN-3 (hid 16, 2 layers)', { hid: 16, heads: 4, layers: 2, seed: 2 }],
    [
      'GHN-3 with 3×3 max kernels (bilinear upsampling of 5×5)',
      { hid: 8, heads: 2, layers: 1, maxShape: [8, 8, 3, 3], seed: 3 },
    ],
    ['GHN-3 in GHN-2 mode', { hid: 8, isGhn2: true, seed: 4 }],
  ])('%s', (_, config) => {
    it.each(coreNets())(
      "predicts all of %s's parameters (those with a GHN primitive), finite, with no tensor leaks",
      (_name, net) => {
        const ghn = new GHN3(config);
        expectFullPrediction(ghn, net);
        ghn.dispose();
      },
    );
  });

  it('predicts a batch of graphs as it predicts each alone', () => {
    const ghn = new GHN3({ hid: 16, heads: 4, layers: 2, seed: 7 });
    const graphs = [
      archGraph(lenet5()),
      archGraph(resnet20()),
      archGraph(new MLP({ inputSize: 8, hiddenSizes: [4], outputSize: 3 })),
    ];
    const batch = ghn.predict(graphs);
    graphs.forEach((g, i) => {
      const [alone] = ghn.predict(g);
      for (const [n, w] of Object.entries(alone!.weights)) {
        const d = tf.tidy(() => tf.max(tf.abs(tf.sub(w, batch[i]!.weights[n]!))).dataSync()[0]!);
        expect(d, `${g.name} ${n}`).toBeLessThan(1e-5);
      }
      tf.dispose([...Object.values(alone!.weights), ...Object.values(batch[i]!.weights)]);
    });
    ghn.dispose();
  });

  it("upsamples like PyTorch's F.interpolate(mode='bilinear', align_corners=False)", () => {
    // 3 → 5: source x = (dst + 0.5)·3/5 − 0.5 clamped to [0, 2]: 0, 0.4, 1, 1.6, 2
    const x = tf.tensor4d([0, 10, 20], [1, 3, 1, 1]);
    const up = tf.image.resizeBilinear(tf.tile(x, [1, 1, 3, 1]) as tf.Tensor4D, [5, 5], false, true);
    const got = Array.from(tf.slice(up, [0, 0, 0, 0], [1, 5, 1, 1]).dataSync());
    [0, 4, 10, 16, 20].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    tf.dispose([x, up]);
  });

  it('saves and loads as ghn3 safetensors (format ghn3), predictions unchanged; GHN-2 stays ppuda-ghn', async () => {
    for (const ghn of [
      new GHN3({ hid: 8, heads: 2, layers: 2, seed: 8 }),
      new GHN3({ hid: 8, isGhn2: true, seed: 9 }),
      new LoGAH({ hid: 8, heads: 2, layers: 1, maxShape: [64, 64, 11, 11], seed: 10 }),
    ]) {
      const bytes = await ghnToSafetensors(ghn);
      const file = decodeSafetensors(bytes);
      expect(file.metadata.format).toBe('ghn3');
      const back = loadGhnFromBytes(bytes);
      expect(back.constructor).toBe(ghn.constructor);
      expect(back.config).toEqual({ ...ghn.config, seed: 0 }); // the file keeps the weights, not the seed
      const g = archGraph(lenet5());
      const [a] = ghn.predict(g);
      const [b] = back.predict(g);
      for (const n of Object.keys(a!.weights))
        expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a!.weights[n]!, b!.weights[n]!))).dataSync()[0])).toBe(0);
      tf.dispose([...Object.values(a!.weights), ...Object.values(b!.weights)]);
      back.dispose();
      ghn.dispose();
    }
    const g2 = new GHN2({ hid: 8 });
    expect(decodeSafetensors(await ghnToSafetensors(g2)).metadata.format).toBe('ppuda-ghn');
    g2.dispose();
  });

  it("loads ghn3's other names: degree embeddings before fix_embed_layers, GHN-2-mode decoder weights as 1×1 convs; rejects mismatches", async () => {
    const ghn = new GHN3({ hid: 8, heads: 2, layers: 1, seed: 11 });
    const file = decodeSafetensors(await ghnToSafetensors(ghn));
    const t = file.tensors;
    t['centrality_embed_in.weight'] = t['gnn.0.centrality_embed_in.weight']!;
    delete t['gnn.0.centrality_embed_in.weight'];
    const w = t['decoder.conv.0.weight']!;
    t['decoder.conv.0.weight'] = { ...w, shape: [...w.shape, 1, 1] };
    const back = ghnFromSafetensors(file) as GHN3;
    const same = (n: string) =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(back.ownWeights()[n]!, ghn.ownWeights()[n]!))).dataSync()[0]);
    expect(same('gnn.0.centrality_embed_in.weight')).toBe(0);
    expect(same('decoder.conv.0.weight')).toBe(0);
    back.dispose();
    delete t['gnn.0.ln1.weight'];
    expect(() => ghnFromSafetensors(file)).toThrow(/gnn\.0\.ln1\.weight' is missing/);
    const l = new LoGAH({ hid: 8, heads: 2, layers: 1, maxShape: [16, 16, 11, 11], seed: 12 });
    const lf = decodeSafetensors(await ghnToSafetensors(l));
    expect(Object.keys(lf.tensors)).toContain('decoder.seq.1.weight');
    (lf.tensors['decoder.seq.1.bias']!.data as Float32Array)[0]! += 1;
    expect(() => ghnFromSafetensors(lf)).toThrow(CheckpointError);
    expect(() => ghnFromSafetensors({ ...lf, metadata: { ...lf.metadata, format: 'other' } })).toThrow(/format/);
    l.dispose();
    ghn.dispose();
  });
});
