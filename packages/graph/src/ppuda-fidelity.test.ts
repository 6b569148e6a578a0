// GHN-2 against ppuda itself: the same GHN weights (ppuda's CIFAR-10 GHN-2 config, seed 0,
// written by scripts/ppuda_fixtures.py), ppuda's graphs of torchvision ResNet-18/50 and its
// predicted parameters. Our graphs of core's resnet18/resnet50 must equal ppuda's up to a node
// renumbering (ppuda's topological sort puts a downsample branch before the block's convs), and
// every predicted tensor must match within 1e-4 relative error.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readSafetensorsFile, resnet18, resnet50, type TargetNet } from '@hypernets/core';
import { archGraph } from './describe.js';
import { batchGraphs } from './batch.js';
import type { ArchGraph } from './graph.js';
import type { GHN2 } from './ghn2.js';
import { loadGhn } from './io.js';
import { checkPredictions, nodeMapping, relErr, reorderRows } from './testing/fidelity.js';

const FIX = new URL('../fixtures/ppuda/', import.meta.url);

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
  mean: number;
  std: number;
  first: number[];
  sample: number[];
}
interface Ref {
  nodes: RefNode[];
  edges: [number, number, number][];
  params: RefParam[];
}

const ref = (model: string): Ref => JSON.parse(readFileSync(new URL(`${model}.json`, FIX), 'utf8')) as Ref;

describe.each([
  ['resnet18', () => resnet18({ inputShape: [32, 32, 3] })],
  ['resnet50', () => resnet50({ inputShape: [32, 32, 3] })],
] as const)('GHN-2 vs ppuda on %s', (model, make) => {
  let ghn: GHN2;
  let net: TargetNet;
  let graph: ArchGraph;
  let r: Ref;
  let map: number[];
  beforeAll(async () => {
    await initBackend('cpu');
    ghn = await loadGhn(new URL('ghn2-cifar10-seed0.safetensors', FIX).pathname);
    net = make();
    graph = archGraph(net);
    r = ref(model);
    map = nodeMapping(graph, r, model);
  });

  it("builds ppuda's graph: same nodes (types, parameters, shapes) and edges, real and virtual", () => {
    expect(graph.nodes.length).toBe(r.nodes.length);
    expect(new Set(map).size).toBe(r.nodes.length);
    graph.nodes.forEach((nd, i) => {
      const rn = r.nodes[map[i]!]!;
      expect(nd.type, `node ${i} ${nd.name}`).toBe(rn.type);
      expect(nd.shape, `node ${i} ${nd.name}`).toEqual(rn.shape);
    });
    const ours = graph.edges.map(([u, v, d]) => [map[u]!, map[v]!, d].join()).sort();
    const theirs = r.edges.map((e) => e.join()).sort();
    expect(ours).toEqual(theirs);
    expect(map[graph.nodes.length - 1]).toBe(r.nodes.length - 1); // output last
  });

  it('node embeddings match ppuda after the shape encoder, the GatedGNN and the layer norm', async () => {
    const emb = (await readSafetensorsFile(new URL(`${model}-embeddings.safetensors`, FIX).pathname)).tensors;
    const batch = batchGraphs([graph], ghn.vocab, ghn.config.sMax);
    const x0 = ghn.embedNodes(batch);
    const xg = ghn.propagate(x0, batch);
    const xl = ghn.nodeEmbeddings(batch);
    for (const [name, t] of [
      ['x_shape', x0],
      ['x_gnn', xg],
      ['x_ln', xl],
    ] as const) {
      const want = reorderRows(emb[name]!.data as Float32Array, map, ghn.config.hid);
      expect(relErr(t.dataSync(), want), name).toBeLessThan(1e-5);
    }
    tf.dispose([x0, xg, xl]);
  });

  it('predicts every parameter tensor within 1e-4 relative error of ppuda', async ({ annotate }) => {
    const worst = checkPredictions(ghn, graph, net, r.params, 1e-4);
    await annotate(`${model}: worst relative error over ${r.params.length} tensors ${worst.toExponential(2)}`);
  });
});
