import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, initBackend, paramSpec, type ParamSpec } from '@hypernets/core';
import { batchGraphs } from './batch.js';
import { GHN3 } from './ghn3.js';
import { GraphBuilder, type ArchGraph } from './graph.js';
import { denseGraphs, edgePairs, graphormerLayer, structureIndices } from './graphormer.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const spec = (name: string, shape: number[]): ParamSpec =>
  paramSpec({
    name,
    shape,
    kind: shape.length === 1 ? 'norm-scale' : 'weight',
    layer: 0,
    fanIn: shape[0]!,
    fanOut: shape.at(-1)!,
  });

/** input → conv → bn → sum(bn, input) → fc: 5 nodes, a skip edge and virtual edges up to distance 3. */
function fiveNodes(): ArchGraph {
  const g = new GraphBuilder('five', [
    spec('conv.weight', [3, 3, 4, 8]),
    spec('bn.weight', [8]),
    spec('bn.bias', [8]),
    spec('fc.weight', [8, 10]),
  ]);
  const x = g.input();
  const c = g.layer('conv', 'conv.weight', [x]);
  const b = g.norm('bn', 'bn.weight', 'bn.bias', [c]);
  const s = g.op('sum', [b, x]);
  g.layer('conv', 'fc.weight', [s]);
  return g.build();
}

/** A chain input → fc1 → fc1.bias → … → fc3.bias: 7 nodes (a larger graph for batching). */
function chain(): ArchGraph {
  const dims = [6, 5, 4, 10];
  const g = new GraphBuilder(
    'chain',
    dims.slice(1).flatMap((d, l) => [spec(`fc${l + 1}.weight`, [dims[l]!, d]), spec(`fc${l + 1}.bias`, [d])]),
  );
  let h = g.input();
  for (let l = 1; l < dims.length; l++) h = g.layer('conv', `fc${l}.weight`, [h], `fc${l}.bias`);
  return g.build();
}

// --- the reference: ghn3's TransformerLayer written out in loops over plain numbers -----------

type Mat = number[][];
const rows = (t: tf.Tensor): Mat => t.arraySync() as Mat;
const vec = (t: tf.Tensor): number[] => t.arraySync() as number[];
const lin = (W: Mat, b: number[] | null, x: number[]): number[] =>
  W.map((r, o) => r.reduce((s, w, i) => s + w * x[i]!, b ? b[o]! : 0));
function ln(x: number[], g: number[], b: number[]): number[] {
  const m = x.reduce((s, v) => s + v, 0) / x.length;
  const v = x.reduce((s, u) => s + (u - m) ** 2, 0) / x.length;
  return x.map((u, i) => ((u - m) / Math.sqrt(v + 1e-5)) * g[i]! + b[i]!);
}
function erf(z: number): number {
  const a = Math.abs(z);
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(z) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  const erfc =
    (Math.exp(-a * a) / (a * Math.sqrt(Math.PI))) * (1 - 1 / (2 * a * a) + 3 / (4 * a ** 4) - 15 / (8 * a ** 6));
  return Math.sign(z) * (1 - erfc);
}
const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

function naiveGraphormer(ghn: GHN3, x0: Mat, g: ArchGraph): Mat {
  const W = (n: string) => rows(ghn.ownWeights()[n]!);
  const V = (n: string) => vec(ghn.ownWeights()[n]!);
  const { heads: H, layers: L, hid: C, sMax } = ghn.config;
  const N = g.nodes.length;
  const dist: Mat = Array.from({ length: N }, () => new Array<number>(N).fill(0));
  for (const [u, v, d] of g.edges) if (d <= sMax) dist[u]![v] = d;
  // degree and input-distance embeddings
  const ein = W('gnn.0.centrality_embed_in.weight');
  const eout = W('gnn.0.centrality_embed_out.weight');
  const edist = W('gnn.0.input_dist_embed.weight');
  let x = x0.map((r, j) => {
    let indeg = 0;
    let outdeg = 0;
    for (let i = 0; i < N; i++) {
      if (dist[i]![j] === 1) indeg++;
      if (dist[j]![i] === 1) outdeg++;
    }
    return r.map((v, c) => v + ein[indeg]![c]! + eout[outdeg]![c]! + edist[dist[0]![j]!]![c]!);
  });
  // attention biases from the edge embeddings of (d(i→j) + 2, d(j→i) + 2)
  const E = W('gnn.0.attn.edge_embed.embed.weight');
  const bias: number[][][] = Array.from({ length: H }, () =>
    Array.from({ length: N }, () => new Array<number>(N).fill(0)),
  );
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      const e = [...E[dist[i]![j]! + 2]!, ...E[dist[j]![i]! + 2]!];
      const h1 = lin(W('gnn.0.attn.proj_e.0.weight'), V('gnn.0.attn.proj_e.0.bias'), e).map((v) => Math.max(0, v));
      const b = lin(W('gnn.0.attn.proj_e.2.weight'), V('gnn.0.attn.proj_e.2.bias'), h1);
      for (let h = 0; h < H; h++) bias[h]![i]![j] = b[h]!;
    }
  const hd = C / H;
  for (let l = 0; l < L; l++) {
    const p = `gnn.${l}`;
    const qkv = x.map((r) => lin(W(`${p}.attn.to_qkv.weight`), null, ln(r, V(`${p}.ln1.weight`), V(`${p}.ln1.bias`))));
    const o: Mat = Array.from({ length: N }, () => new Array<number>(C).fill(0));
    for (let h = 0; h < H; h++)
      for (let i = 0; i < N; i++) {
        const s = new Array<number>(N);
        for (let j = 0; j < N; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += qkv[i]![h * hd + d]! * qkv[j]![C + h * hd + d]!;
          s[j] = dot / Math.sqrt(hd) + bias[h]![i]![j]!;
        }
        const m = Math.max(...s);
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < N; j++)
          for (let d = 0; d < hd; d++) o[i]![h * hd + d]! += (e[j]! / z) * qkv[j]![2 * C + h * hd + d]!;
      }
    x = x.map((r, i) => {
      const a = lin(W(`${p}.attn.to_out.0.weight`), V(`${p}.attn.to_out.0.bias`), o[i]!);
      const h1 = r.map((v, c) => v + a[c]!);
      const f = lin(
        W(`${p}.ff.net.0.weight`),
        V(`${p}.ff.net.0.bias`),
        ln(h1, V(`${p}.ln2.weight`), V(`${p}.ln2.bias`)),
      ).map(gelu);
      const f2 = lin(W(`${p}.ff.net.3.weight`), V(`${p}.ff.net.3.bias`), f);
      return h1.map((v, c) => v + f2[c]!);
    });
  }
  return x;
}

function maxRel(a: Mat, b: Mat): number {
  let num = 0;
  let den = 0;
  a.forEach((r, i) =>
    r.forEach((v, j) => ((num = Math.max(num, Math.abs(v - b[i]![j]!))), (den = Math.max(den, Math.abs(b[i]![j]!))))),
  );
  return num / den;
}

describe('Graphormer (ghn3/graphormer.py)', () => {
  it('structure: dense distances, degrees, input distance and the distinct (forward, backward) pairs', () => {
    const g = fiveNodes();
    const dense = denseGraphs([g], 50);
    const d = (i: number, j: number) => dense.dist[i * 5 + j];
    expect([d(0, 1), d(0, 2), d(0, 3), d(0, 4), d(1, 4), d(2, 4), d(4, 0)]).toEqual([1, 2, 1, 2, 3, 2, 0]);
    const s = structureIndices(dense);
    expect(Array.from(s.inDegree)).toEqual([0, 1, 1, 2, 1]);
    expect(Array.from(s.outDegree)).toEqual([2, 1, 1, 1, 0]);
    expect(Array.from(s.inputDist)).toEqual([0, 1, 2, 1, 2]);
    const { pairs, index } = edgePairs(dense);
    // (0,0) on the diagonal, (d+2, 2) forward, (2, d+2) backward for d = 1, 2, 3
    expect(pairs.length / 2).toBe(7);
    expect([pairs[2 * index[0]!], pairs[2 * index[0]! + 1]]).toEqual([2, 2]);
    expect([pairs[2 * index[1 * 5 + 4]!], pairs[2 * index[1 * 5 + 4]! + 1]]).toEqual([5, 2]);
    expect([pairs[2 * index[4 * 5 + 1]!], pairs[2 * index[4 * 5 + 1]! + 1]]).toEqual([2, 5]);
  });

  it('the layer stack equals attention with biases written out in loops, on a 5-node graph', () => {
    const ghn = new GHN3({ hid: 8, heads: 2, layers: 2, maxShape: [8, 8, 3, 3], seed: 4 });
    const g = fiveNodes();
    const batch = batchGraphs([g], ghn.vocab, ghn.config.sMax);
    const x0 = ghn.embedNodes(batch);
    const ours = ghn.propagate(x0, batch);
    const want = naiveGraphormer(ghn, rows(x0), g);
    expect(maxRel(rows(ours), want)).toBeLessThan(1e-5);
    // and it is not the identity: the graph changes the embeddings
    expect(maxRel(rows(x0), want)).toBeGreaterThan(1e-2);
    tf.dispose([x0, ours]);
    ghn.dispose();
  });

  it('a batch of graphs of different sizes (padded and masked) gives each graph its own result', () => {
    const ghn = new GHN3({ hid: 8, heads: 4, layers: 3, maxShape: [8, 8, 3, 3], seed: 5 });
    const graphs = [fiveNodes(), chain(), fiveNodes()];
    const batch = batchGraphs(graphs, ghn.vocab, ghn.config.sMax);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const both = rows(ghn.nodeEmbeddings(batch));
      let off = 0;
      for (const g of graphs) {
        const alone = rows(ghn.nodeEmbeddings(batchGraphs([g], ghn.vocab, ghn.config.sMax)));
        expect(maxRel(both.slice(off, off + g.nodes.length), alone)).toBeLessThan(1e-5);
        off += g.nodes.length;
      }
      expect(denseGraphs(graphs, 50)).toMatchObject({ M: 7, padded: true });
      // the larger graph in the middle against the loops
      const naive = naiveGraphormer(
        ghn,
        rows(ghn.embedNodes(batchGraphs([graphs[1]!], ghn.vocab, ghn.config.sMax))),
        graphs[1]!,
      );
      expect(maxRel(rows(ghn.propagate(ghn.embedNodes(batch), batch)).slice(5, 12), naive)).toBeLessThan(1e-5);
    });
    expect(tf.memory().numTensors).toBe(before);
    ghn.dispose();
  });

  it('gradients reach every Graphormer variable through the node embeddings', () => {
    const ghn = new GHN3({ hid: 8, heads: 2, layers: 2, maxShape: [8, 8, 3, 3], seed: 6 });
    const batch = batchGraphs([fiveNodes(), chain()], ghn.vocab, ghn.config.sMax);
    const gnn = ghn.trainableVariables().filter((v, i) => ghn.params[i]!.name.startsWith('gnn.'));
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(ghn.nodeEmbeddings(batch))) as tf.Scalar, gnn);
    const names = ghn.params.filter((p) => p.name.startsWith('gnn.')).map((p) => p.name);
    // every Graphormer tensor gets a gradient (the embedding tables: zero in the rows no node reads)
    expect(Object.keys(grads).length).toBe(names.length);
    for (const gr of Object.values(grads))
      expect(Number.isFinite(tf.tidy(() => tf.sum(tf.abs(gr)).dataSync()[0]!))).toBe(true);
    const qkv = grads[gnn[names.indexOf('gnn.1.attn.to_qkv.weight')]!.name]!;
    expect(tf.tidy(() => tf.max(tf.abs(qkv)).dataSync()[0]!)).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    ghn.dispose();
  });
});

describe('graphormerLayer', () => {
  it('features that do not split into the heads are a ConfigError naming both', () => {
    const x = tf.zeros([1, 2, 6]);
    expect(() => graphormerLayer(x, null, null, () => tf.zeros([1]), 'layers.0', 4)).toThrow(ConfigError);
    expect(() => graphormerLayer(x, null, null, () => tf.zeros([1]), 'layers.0', 4)).toThrow(
      /6 features do not split into 4 heads/,
    );
    x.dispose();
  });
});
