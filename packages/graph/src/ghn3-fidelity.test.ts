// GHN-3 and LoGAH against their reference code: the same GHN weights (written by
// scripts/ghn3_fixtures.py from ghn3's GHN3 and LoGAH's GHN3, seed 0), ghn3's graphs of
// torchvision ResNet-18/50, the node embeddings after every stage and every predicted tensor.
// ghn3's graph.py builds the same graphs as ppuda's for these nets (same nodes in the same order,
// same edges); our graphs of core's resnet18/50 equal them up to a node renumbering (our
// downsample branch comes after the block's convs), so rows are compared through a node map.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readSafetensorsFile, resnet18, resnet50, type RawTensor, type TargetNet } from '@hypernets/core';
import { archGraph } from './describe.js';
import { batchGraphs } from './batch.js';
import type { ArchGraph } from './graph.js';
import { GHN3 } from './ghn3.js';
import { LoGAH } from './logah.js';
import { structureIndices } from './graphormer.js';
import { loadGhn } from './io.js';
import { checkPredictions, nodeMapping, relErr, reorderRows } from './testing/fidelity.js';

const FIX = new URL('../fixtures/ghn3/', import.meta.url);

interface RefNode {
  index: number;
  type: string;
  name: string | null;
  shape: number[] | null;
}
interface RefParam {
  name: string;
  shape: number[];
  numel: number;
  norm: number;
  first: number[];
  sample: number[];
}
interface Ref {
  meta: { params_match: string; predicted_params: number };
  nodes?: RefNode[];
  edges?: [number, number, number][];
  structure?: { in_degree: number[]; out_degree: number[]; input_dist: number[] };
  params: RefParam[];
}

const ref = (stem: string): Ref => JSON.parse(readFileSync(new URL(`${stem}.json`, FIX), 'utf8')) as Ref;

/** Every predicted tensor against the reference statistics (see testing/fidelity.ts), and ghn3's own count check. */
function checkAll(ghn: GHN3, graph: ArchGraph, net: TargetNet, r: Ref, tol: number): number {
  expect(r.meta.params_match).toBe('MATCHED!');
  return checkPredictions(ghn, graph, net, r.params, tol);
}

/**
 * The Graphormer's node embeddings after the shape encoder, the degree embeddings, each layer and
 * the layer norm, each against the fixture's (rows in ghn3's node order, `map` ours → theirs).
 * Returns the attention bias for the caller's own check.
 */
function checkGraphormerStages(
  ghn: GHN3,
  graph: ArchGraph,
  emb: Record<string, RawTensor>,
  map: readonly number[],
): Float32Array {
  const batch = batchGraphs([graph], ghn.vocab, ghn.config.sMax);
  const x0 = ghn.embedNodes(batch);
  const { struct, layers, bias } = ghn.graphormerStages(x0, batch);
  const xl = ghn.nodeEmbeddings(batch);
  const stages: [string, tf.Tensor][] = [
    ['x_shape', x0],
    ['x_struct', struct],
    ...layers.map((t, l): [string, tf.Tensor] => [`x_layer${l}`, t]),
    ['x_ln', xl],
  ];
  for (const [name, t] of stages)
    expect(relErr(t.dataSync(), reorderRows(emb[name]!.data as Float32Array, map as number[], 32)), name).toBeLessThan(
      1e-5,
    );
  const b = bias.dataSync() as Float32Array;
  tf.dispose([x0, struct, ...layers, bias, xl]);
  return b;
}

const nets = {
  resnet18: () => resnet18({ inputShape: [32, 32, 3] }),
  resnet50: () => resnet50({ inputShape: [32, 32, 3] }),
};

describe.each(['resnet18', 'resnet50'] as const)('GHN-3 vs ghn3 on %s', (model) => {
  let ghn: GHN3;
  let net: TargetNet;
  let graph: ArchGraph;
  let r: Ref;
  let map: number[];
  beforeAll(async () => {
    await initBackend('wasm');
    const g = await loadGhn(new URL('ghn3-hid32-seed0.safetensors', FIX).pathname);
    expect(g).toBeInstanceOf(GHN3);
    ghn = g as GHN3;
    net = nets[model]();
    graph = archGraph(net);
    r = ref(model);
    map = nodeMapping(graph, r as Required<Ref>, 'ghn3');
  });

  it("builds ghn3's graph: same nodes, edges (real and virtual) and the first layer's structural indices", () => {
    expect(ghn.config).toMatchObject({
      hid: 32,
      layers: 3,
      heads: 8,
      isGhn2: false,
      sMax: 50,
      maxShape: [32, 32, 11, 11],
    });
    expect(ghn.numParams).toBe(904_868); // ghn3's state_dict: 60 tensors, 904,868 values
    expect(graph.nodes.length).toBe(r.nodes!.length);
    expect(new Set(map).size).toBe(r.nodes!.length);
    graph.nodes.forEach((nd, i) => {
      const rn = r.nodes![map[i]!]!;
      expect(nd.type, `node ${i} ${nd.name}`).toBe(rn.type);
      expect(nd.shape, `node ${i} ${nd.name}`).toEqual(rn.shape);
    });
    expect(graph.edges.map(([u, v, d]) => [map[u]!, map[v]!, d].join()).sort()).toEqual(
      r.edges!.map((e) => e.join()).sort(),
    );
    const s = structureIndices(ghn.denseGraphs(batchGraphs([graph], ghn.vocab, ghn.config.sMax)));
    const st = r.structure!;
    expect(Array.from(s.inDegree)).toEqual(map.map((j) => st.in_degree[j]));
    expect(Array.from(s.outDegree)).toEqual(map.map((j) => st.out_degree[j]));
    expect(Array.from(s.inputDist)).toEqual(map.map((j) => st.input_dist[j]));
  });

  it('node embeddings match ghn3 after the shape encoder, the degree embeddings, each Graphormer layer and the layer norm', async () => {
    const emb = (await readSafetensorsFile(new URL(`${model}-embeddings.safetensors`, FIX).pathname)).tensors;
    const bias = checkGraphormerStages(ghn, graph, emb, map);
    if (emb.attn_bias) {
      // fixture [N, N, H] in ghn3's order; ours [1, H, N, N] in ours
      const H = 8;
      const N = map.length;
      const want = new Float32Array(H * N * N);
      const raw = emb.attn_bias.data as Float32Array;
      for (let h = 0; h < H; h++)
        for (let i = 0; i < N; i++)
          for (let j = 0; j < N; j++) want[(h * N + i) * N + j] = raw[(map[i]! * N + map[j]!) * H + h]!;
      expect(relErr(bias, want), 'attn_bias').toBeLessThan(1e-5);
    }
  });

  it('predicts every parameter tensor within 1e-4 relative error of ghn3', async ({ annotate }) => {
    const worst = checkAll(ghn, graph, net, r, 1e-4);
    await annotate(`GHN-3 ${model}: worst relative error over ${r.params.length} tensors ${worst.toExponential(2)}`);
  });
});

describe('GHN-2 mode (is_ghn2) and LoGAH vs their code on resnet18', () => {
  let graph: ArchGraph;
  let net: TargetNet;
  let map: number[];
  beforeAll(async () => {
    await initBackend('wasm');
    net = nets.resnet18();
    graph = archGraph(net);
    map = nodeMapping(graph, ref('resnet18') as Required<Ref>, 'ghn3');
  });

  it("GHN3 with isGhn2: the GatedGNN's embeddings and every tensor ConvDecoder3 (GHN-2 mode) predicts", async ({
    annotate,
  }) => {
    const ghn = (await loadGhn(new URL('ghn3-ghn2mode-hid16-seed0.safetensors', FIX).pathname)) as GHN3;
    expect(ghn).toBeInstanceOf(GHN3);
    expect(ghn.config).toMatchObject({ hid: 16, isGhn2: true, maxShape: [32, 32, 11, 11] });
    const emb = (await readSafetensorsFile(new URL('resnet18-ghn2mode-embeddings.safetensors', FIX).pathname)).tensors;
    const batch = batchGraphs([graph], ghn.vocab, ghn.config.sMax);
    const x0 = ghn.embedNodes(batch);
    const xg = ghn.propagate(x0, batch);
    const xl = ghn.nodeEmbeddings(batch);
    for (const [name, t] of [
      ['x_shape', x0],
      ['x_gnn', xg],
      ['x_ln', xl],
    ] as const)
      expect(relErr(t.dataSync(), reorderRows(emb[name]!.data as Float32Array, map, 16)), name).toBeLessThan(1e-5);
    tf.dispose([x0, xg, xl]);
    const worst = checkAll(ghn, graph, net, ref('resnet18-ghn2mode'), 1e-4);
    await annotate(`GHN-3 in GHN-2 mode resnet18: worst relative error ${worst.toExponential(2)}`);
    ghn.dispose();
  });

  it("LoGAH: the Graphormer's embeddings and every tensor the low-rank decoder predicts", async ({ annotate }) => {
    const ghn = (await loadGhn(new URL('logah-hid32-r16-seed0.safetensors', FIX).pathname)) as LoGAH;
    expect(ghn).toBeInstanceOf(LoGAH);
    expect(ghn.config).toMatchObject({
      hid: 32,
      rank: 16,
      maxCk: 2048,
      use1dDecoder: false,
      maxShape: [128, 128, 16, 16],
    });
    expect(ghn.numParams).toBe(294_580); // LoGAH's parameters(); its state_dict also lists decoder.l2 as decoder.seq.1
    const emb = (await readSafetensorsFile(new URL('resnet18-logah-embeddings.safetensors', FIX).pathname)).tensors;
    checkGraphormerStages(ghn, graph, emb, map);
    const worst = checkAll(ghn, graph, net, ref('resnet18-logah'), 1e-4);
    await annotate(`LoGAH resnet18: worst relative error ${worst.toExponential(2)}`);
    ghn.dispose();
  });
});
