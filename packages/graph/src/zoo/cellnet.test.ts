// CellNet: parameter counts by hand, shapes, errors, its graph against hand-written edges and
// against ppuda's traced graph of the equivalent PyTorch Network (fixtures/ppuda/cellnets.json,
// written by scripts/cellnet_fixtures.py), GHN-2's predictions and the net's logits on them
// against ppuda's.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  Rng,
  countParams,
  initBackend,
  toTorchLayout,
  torchShape,
  type ParamSpec,
  type Weights,
} from '@hypernets/core';
import { archGraph } from '../describe.js';
import type { GHN2 } from '../ghn2.js';
import { loadGhn } from '../io.js';
import { nodeMapping } from '../testing/fidelity.js';
import type { ArchGraph } from '../graph.js';
import { CellNet, reductionCells, type CellNetConfig, type Genotype } from './cellnet.js';

const FIX = new URL('../../fixtures/ppuda/', import.meta.url);

beforeAll(async () => {
  await initBackend('cpu');
});

function randomWeights(params: readonly ParamSpec[], seed = 0): Weights {
  const rng = new Rng(seed);
  const w: Weights = {};
  for (const p of params)
    w[p.name] =
      p.kind === 'norm-scale'
        ? tf.ones(p.shape as number[])
        : tf.mul(rng.normal(p.shape as number[]), Math.sqrt(1 / p.fanIn));
  return w;
}

/** Real edges as "u->v" strings, sorted. */
const realEdges = (g: ArchGraph) =>
  g.edges
    .filter((e) => e[2] === 1)
    .map(([u, v]) => `${u}->${v}`)
    .sort();

// one conv node and an identity edge, no reduction cell
const TINY: Genotype = {
  normal: [
    ['conv_3x3', 0],
    ['skip_connect', 1],
  ],
  normalConcat: [2],
  reduce: [
    ['conv_3x3', 0],
    ['skip_connect', 1],
  ],
  reduceConcat: [2],
};
// sep/dil convs in the normal cell, FactorizedReduce + max pool in the reduction cell
const SMALL: Genotype = {
  normal: [
    ['sep_conv_3x3', 0],
    ['dil_conv_3x3', 1],
  ],
  normalConcat: [2],
  reduce: [
    ['skip_connect', 0],
    ['max_pool_3x3', 1],
  ],
  reduceConcat: [2],
};

describe('CellNet', () => {
  it('reduction cells at ⌊n/3⌋ and ⌊2n/3⌋, as in ppuda', () => {
    expect(reductionCells(1)).toEqual([]);
    expect(reductionCells(2)).toEqual([1]);
    expect(reductionCells(3)).toEqual([1, 2]);
    expect(reductionCells(6)).toEqual([2, 4]);
  });

  it('has the parameters counted by hand', () => {
    // stem 3·3·1·12 + BN 24; preprocess0/1 1·1·12·4 + BN 8 each; conv_3x3 3·3·4·4 + BN 8; skip 0; classifier 4·10 + 10
    const tiny = new CellNet({ genotype: TINY, cells: 1, channels: 4, inputShape: [8, 8, 1] });
    expect(countParams(tiny.params)).toBe(108 + 24 + 2 * (48 + 8) + 144 + 8 + 50);
    expect(tiny.params.map((p) => p.name)).toEqual([
      'stem.0.weight',
      'stem.1.weight',
      'stem.1.bias',
      'cells.0.preprocess0.op.1.weight',
      'cells.0.preprocess0.op.2.weight',
      'cells.0.preprocess0.op.2.bias',
      'cells.0.preprocess1.op.1.weight',
      'cells.0.preprocess1.op.2.weight',
      'cells.0.preprocess1.op.2.bias',
      'cells.0._ops.0.op.1.weight',
      'cells.0._ops.0.op.2.weight',
      'cells.0._ops.0.op.2.bias',
      'classifier.weight',
      'classifier.bias',
    ]);
    // 2 cells (cell 1 reduces, C 4 → 8), stem 8 channels:
    //   stem 72 + 16
    //   cell 0: preprocess 2·(8·4 + 8); sep_conv_3x3 2·(9·4 + 4·4 + 8); dil_conv_3x3 9·4 + 4·4 + 8
    //   cell 1: preprocess0 8·8 + 16, preprocess1 4·8 + 16; FactorizedReduce 2·(8·4) + 16; max pool 0
    //   classifier 8·10 + 10
    const small = new CellNet({ genotype: SMALL, cells: 2, channels: 4, stemChannels: 8, inputShape: [8, 8, 1] });
    expect(countParams(small.params)).toBe(88 + (80 + 120 + 60) + (80 + 48 + 80) + 90);
    const byName = new Map(small.params.map((p) => [p.name, p.shape]));
    expect(byName.get('cells.0._ops.0.op.1.weight')).toEqual([3, 3, 4, 1]); // depthwise
    expect(byName.get('cells.0._ops.1.op.1.weight')).toEqual([3, 3, 4, 1]); // dilated depthwise
    expect(byName.get('cells.1._ops.0.conv_2.weight')).toEqual([1, 1, 8, 4]);
    expect(byName.get('classifier.weight')).toEqual([8, 10]);
    // without BN the norm parameters go, nothing else
    const noBn = new CellNet({
      genotype: SMALL,
      cells: 2,
      channels: 4,
      stemChannels: 8,
      inputShape: [8, 8, 1],
      bn: false,
    });
    expect(noBn.params.some((p) => p.kind === 'norm-scale' || p.kind === 'norm-shift')).toBe(false);
    expect(countParams(noBn.params)).toBe(646 - 2 * (8 + 4 + 4 + 4 + 4 + 4 + 8 + 8 + 8));
  });

  it('runs 28×28×1 and 32×32×3 batches to logits, without leaking tensors', () => {
    for (const inputShape of [
      [28, 28, 1],
      [32, 32, 3],
    ] as const) {
      const net = new CellNet({ genotype: SMALL, cells: 3, channels: 4, inputShape });
      const w = randomWeights(net.params);
      const x = new Rng(1).normal([3, ...inputShape]);
      const before = tf.memory().numTensors;
      const y = net.forward(x, w, { training: false });
      expect(y.shape).toEqual([3, 10]);
      expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
      y.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, ...Object.values(w)]);
    }
  });

  it('trains: every parameter gets a gradient; a step leaks no tensor', () => {
    const net = new CellNet({ genotype: SMALL, cells: 2, channels: 4, inputShape: [8, 8, 1] });
    const w = randomWeights(net.params);
    const x = new Rng(2).normal([4, 8, 8, 1]);
    const names = net.params.map((p) => p.name);
    const before = tf.memory().numTensors;
    const grads = tf.grads((...ws: tf.Tensor[]) =>
      tf.sum(tf.square(net.forward(x, Object.fromEntries(names.map((n, i) => [n, ws[i]!]))))),
    )(names.map((n) => w[n]!));
    grads.forEach((g, i) => {
      expect(g.shape, names[i]).toEqual(net.params[i]!.shape);
      expect(
        tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]!),
        names[i],
      ).toBeGreaterThan(0);
    });
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, ...Object.values(w)]);
  });

  it('rejects per-sample weights and bad configs with errors naming the field', () => {
    const net = new CellNet({ genotype: TINY, cells: 1, channels: 4, inputShape: [8, 8, 1] });
    const batched: Weights = {};
    for (const p of net.params) batched[p.name] = tf.zeros([2, ...p.shape]);
    const x = tf.zeros([2, 8, 8, 1]);
    expect(() => net.forward(x, batched)).toThrow(ConfigError);
    expect(() => net.forward(x, batched)).toThrow(/per-sample/);
    tf.dispose([x, ...Object.values(batched)]);

    const base: CellNetConfig = { genotype: TINY, cells: 3, channels: 4 };
    const bad = (cfg: Partial<CellNetConfig>, field: RegExp) =>
      expect(() => new CellNet({ ...base, ...cfg })).toThrow(field);
    bad({ channels: 5 }, /'channels'.*even/);
    bad({ cells: 0 }, /'cells'/);
    bad({ stemKernel: 4 }, /'stemKernel'/);
    const g = (normal: Genotype['normal'], normalConcat: number[] = [2]) => ({
      genotype: { ...TINY, normal, normalConcat },
    });
    bad(
      g([
        ['conv_7x7' as 'conv_3x3', 0],
        ['skip_connect', 1],
      ]),
      /'genotype.normal\[0\]'.*unknown op/,
    );
    bad(
      g([
        ['conv_3x3', 0],
        ['skip_connect', 2],
      ]),
      /'genotype.normal\[1\]'.*states 0…1/,
    );
    bad(
      g([
        ['conv_3x3', 1],
        ['skip_connect', 1],
      ]),
      /'genotype.normal\[1\]'.*twice/,
    );
    bad(
      g(
        [
          ['conv_3x3', 0],
          ['skip_connect', 1],
        ],
        [3],
      ),
      /'genotype.normalConcat\[0\]'/,
    );
    // node 2 is read by nobody and not concatenated: its conv would hang in the air
    bad(
      g(
        [
          ['conv_3x3', 0],
          ['skip_connect', 1],
          ['conv_3x3', 0],
          ['max_pool_3x3', 1],
        ],
        [3],
      ),
      /node 2 is read by no later node/,
    );
  });

  it('stem options: stride and max pool halve the resolution; odd sizes reduce to ⌈n/2⌉', () => {
    const pooled = new CellNet({ genotype: SMALL, cells: 3, channels: 4, inputShape: [28, 28, 1], stemPool: true });
    const g = pooled.archGraph();
    // stem conv → bn → max_pool → the two preprocessing convs of cell 0
    expect(g.nodes.slice(0, 4).map((n) => n.type)).toEqual(['input', 'conv', 'bn', 'max_pool']);
    expect(g.nodes[3]!.shape).toEqual([1, 1, 3, 3]);
    expect(realEdges(g).filter((e) => e.startsWith('3->'))).toHaveLength(3); // preprocess0/1 of cell 0, preprocess0 of cell 1
    const strided = new CellNet({ genotype: SMALL, cells: 3, channels: 4, inputShape: [28, 28, 1], stemStride: 2 });
    expect(strided.archGraph().nodes.filter((n) => n.type === 'max_pool')).toHaveLength(2); // the cells' only
    expect(countParams(strided.params)).toBe(countParams(pooled.params));
    // 28 → 14 → 7 → 4: the second reduction (and its FactorizedReduce) runs on an odd size
    for (const net of [
      pooled,
      strided,
      new CellNet({ genotype: SMALL, cells: 3, channels: 4, inputShape: [15, 13, 2] }),
    ]) {
      const w = randomWeights(net.params);
      const x = new Rng(4).normal([2, ...net.inputShape]);
      const y = net.forward(x, w);
      expect(y.shape).toEqual([2, 10]);
      expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([x, y, ...Object.values(w)]);
    }
  });

  it('builds the graph written out by hand for a one-cell net', () => {
    const net = new CellNet({ genotype: TINY, cells: 1, channels: 4, inputShape: [8, 8, 1] });
    const g = net.archGraph();
    expect(g.nodes.map((n) => `${n.type}:${n.param ?? ''}`)).toEqual([
      'input:',
      'conv:stem.0.weight',
      'bn:stem.1.weight',
      'conv:cells.0.preprocess0.op.1.weight',
      'bn:cells.0.preprocess0.op.2.weight',
      'conv:cells.0.preprocess1.op.1.weight',
      'bn:cells.0.preprocess1.op.2.weight',
      'conv:cells.0._ops.0.op.1.weight',
      'bn:cells.0._ops.0.op.2.weight',
      'sum:',
      'glob_avg:',
      'conv:classifier.weight',
      'bias:classifier.bias',
    ]);
    expect(g.nodes[2]!.shift).toBe('stem.1.bias');
    expect(realEdges(g)).toEqual(
      [
        '0->1',
        '1->2',
        '2->3',
        '2->5',
        '3->4',
        '4->7',
        '5->6',
        '7->8',
        '8->9',
        '6->9',
        '9->10',
        '10->11',
        '11->12',
      ].sort(),
    );
    // shapes in PyTorch's layout
    expect(g.nodes[1]!.shape).toEqual([12, 1, 3, 3]);
    expect(g.nodes[11]!.shape).toEqual([10, 4]);
    expect(archGraph(net).nodes.length).toBe(g.nodes.length); // describe.ts finds archGraph()
  });

  it('graph invariants: topological, input first, output last, every ParamSpec claimed, ReLU-free typing', () => {
    const net = new CellNet({ genotype: SMALL, cells: 2, channels: 4, inputShape: [8, 8, 1] });
    const g = net.archGraph();
    expect(g.nodes[0]!.type).toBe('input');
    expect(g.nodes[g.nodes.length - 1]!.param).toBe('classifier.bias');
    expect(g.nodes[g.nodes.length - 2]!.param).toBe('classifier.weight');
    for (const [u, v] of g.edges) expect(u).toBeLessThan(v);
    const claimed = new Set(g.nodes.flatMap((n) => [n.param, n.shift]).filter((p) => p !== null));
    expect(net.params.filter((p) => !claimed.has(p.name))).toEqual([]);
    expect(g.unsupported).toEqual([]);
    const types = (prefix: string) => g.nodes.filter((n) => n.param?.startsWith(prefix)).map((n) => n.type);
    expect(types('cells.0._ops.0.')).toEqual(['sep_conv', 'conv', 'bn', 'sep_conv', 'conv', 'bn']);
    expect(types('cells.0._ops.1.')).toEqual(['dil_conv', 'conv', 'bn']);
    expect(types('cells.1._ops.0.')).toEqual(['conv', 'conv', 'bn']); // FactorizedReduce
    expect(g.nodes.find((n) => n.param === 'cells.0._ops.0.op.1.weight')!.shape).toEqual([4, 1, 3, 3]);
    const count = (t: string) => g.nodes.filter((n) => n.type === t).length;
    expect(count('max_pool')).toBe(1);
    expect(count('sum')).toBe(2); // one node per cell
    expect(count('concat')).toBe(1); // FactorizedReduce's; single-state cell outputs are no nodes
    expect(count('glob_avg')).toBe(1);
  });
});

interface Case {
  name: string;
  cells: number;
  channels: number;
  bn: boolean;
  genotype: {
    normal: [string, number][];
    normal_concat: number[];
    reduce: [string, number][];
    reduce_concat: number[];
  };
  params: { name: string; shape: number[] }[];
  nodes: { type: string; name: string | null; shape: number[] | null }[];
  edges: [number, number, number][];
  predicted: Record<string, { norm: number; mean: number; first: number[] }>;
  logits: number[][];
}

const depthwiseParams = (net: CellNet) =>
  new Set(
    net
      .archGraph()
      .nodes.filter((n) => n.depthwise)
      .map((n) => n.param!),
  );

const cases = (JSON.parse(readFileSync(new URL('cellnets.json', FIX), 'utf8')) as { cases: Case[] }).cases;
const ppudaName = (n: string) => n.replace(/^classifier\./, 'classifier.0.');

function fromCase(c: Case): CellNet {
  return new CellNet({
    genotype: {
      normal: c.genotype.normal,
      normalConcat: c.genotype.normal_concat,
      reduce: c.genotype.reduce,
      reduceConcat: c.genotype.reduce_concat,
    } as Genotype,
    cells: c.cells,
    channels: c.channels,
    bn: c.bn,
    inputShape: [32, 32, 3],
  });
}

let ghn: GHN2;
beforeAll(async () => {
  ghn = await loadGhn(new URL('ghn2-cifar10-seed0.safetensors', FIX).pathname);
});
afterAll(() => ghn.dispose());

describe.each(cases.map((c) => [c.name, c] as const))("CellNet '%s' against ppuda's Network", (_name, c) => {
  it('has the parameters of ppuda’s Network (names, PyTorch shapes, order)', () => {
    const net = fromCase(c);
    expect(net.params.map((p) => ppudaName(p.name))).toEqual(c.params.map((p) => p.name));
    const depthwise = depthwiseParams(net);
    expect(depthwise.size).toBeGreaterThan(0);
    net.params.forEach((p, i) => {
      const t = depthwise.has(p.name) ? [p.shape[2]! * p.shape[3]!, 1, p.shape[0]!, p.shape[1]!] : torchShape(p);
      expect(t, p.name).toEqual(c.params[i]!.shape);
    });
  });

  it("builds ppuda's graph: same nodes (types, shapes) and real edges", () => {
    const net = fromCase(c);
    const g = net.archGraph();
    const map = nodeMapping(g, c, c.name, ppudaName);
    expect(g.nodes.length).toBe(c.nodes.length);
    expect(new Set(map).size).toBe(c.nodes.length);
    g.nodes.forEach((nd, i) => {
      const rn = c.nodes[map[i]!]!;
      expect(nd.type, `node ${i} ${nd.param}`).toBe(rn.type);
      expect(nd.shape, `node ${i} ${nd.param}`).toEqual(rn.shape);
    });
    const ours = realEdges(g).map((e) =>
      e
        .split('->')
        .map((k) => map[Number(k)]!)
        .join(),
    );
    expect(ours.sort()).toEqual(c.edges.map(([u, v]) => `${u},${v}`).sort());
    expect(map[g.nodes.length - 1]).toBe(c.nodes.length - 1);
  });

  it("GHN-2 predicts ppuda's parameters (seeded GHN fixture) within 1e-4 relative error; the forward on them gives ppuda's logits", async ({
    annotate,
  }) => {
    const net = fromCase(c);
    const [p] = ghn.predict(net.archGraph());
    expect(p!.missing).toEqual([]);
    const depthwise = depthwiseParams(net);
    let worst = 0;
    for (const spec of net.params) {
      const ref = c.predicted[ppudaName(spec.name)]!;
      const w = p!.weights[spec.name]!;
      // depthwise [kh, kw, C, 1] → PyTorch's [C, 1, kh, kw]
      const t = tf.tidy(() => (depthwise.has(spec.name) ? tf.transpose(w, [2, 3, 0, 1]) : toTorchLayout(spec, w)));
      const v = t.dataSync();
      let ss = 0;
      for (let i = 0; i < v.length; i++) ss += v[i]! ** 2;
      const eNorm = Math.abs(Math.sqrt(ss) - ref.norm) / ref.norm;
      let num = 0;
      let den = 0;
      ref.first.forEach((r, i) => {
        num += (v[i]! - r) ** 2;
        den += r ** 2;
      });
      const eFirst = Math.sqrt(num / Math.max(den, 1e-30));
      worst = Math.max(worst, eNorm, eFirst);
      expect(eNorm, `${spec.name} norm`).toBeLessThan(1e-4);
      expect(eFirst, `${spec.name} values`).toBeLessThan(1e-4);
      t.dispose();
    }
    // ppuda's input x[n, c, h, w] = sin(0.01·(NCHW index) + 0.3·c), as NHWC
    const x = tf.tidy(() => {
      const idx = tf.reshape(tf.range(0, 2 * 3 * 32 * 32), [2, 3, 32, 32]);
      const nchw = tf.sin(tf.add(tf.mul(idx, 0.01), tf.reshape(tf.mul(tf.range(0, 3), 0.3), [1, 3, 1, 1])));
      return tf.transpose(nchw, [0, 2, 3, 1]);
    });
    const y = net.forward(x, p!.weights, { training: true });
    const want = c.logits.flat();
    const got = Array.from(y.dataSync());
    const eLogits = Math.sqrt(
      got.reduce((a, v, i) => a + (v - want[i]!) ** 2, 0) / want.reduce((a, v) => a + v * v, 0),
    );
    expect(eLogits, 'logits').toBeLessThan(1e-4);
    tf.dispose([x, y, ...Object.values(p!.weights)]);
    await annotate(
      `${c.name}: ${net.params.length} tensors, worst relative error ${worst.toExponential(2)}, logits ${eLogits.toExponential(2)}`,
    );
  });
});
