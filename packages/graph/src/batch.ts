import { levels, type ArchGraph } from './graph.js';
import { nodeTypeIds } from './graph.js';
import { shapeIndices, type ShapeVocab } from './shape-encoder.js';

/** One level of a sweep: the nodes updated together and the messages they receive. */
export interface LevelPlan {
  /** Global indices of the nodes of this level. */
  readonly nodes: Int32Array;
  /** Distinct global indices of the nodes sending messages to them. */
  readonly senders: Int32Array;
  /** [nodes, senders] row-major: 1 for each real (1-hop) edge (message MLP). */
  readonly direct: Float32Array;
  /** [nodes, senders]: 1/d for every edge, real or virtual, up to sMax (virtual-edge MLP). */
  readonly virtual: Float32Array;
  readonly hasVirtual: boolean;
}

/** Several graphs as one: concatenated nodes, and the level plans of GHN-2's two sweeps. */
export interface GraphBatch {
  readonly graphs: readonly ArchGraph[];
  /** First global node index of each graph. */
  readonly offsets: readonly number[];
  readonly numNodes: number;
  readonly types: Int32Array;
  /** [numNodes, 4] rows of the channel/spatial embedding tables. */
  readonly shapeRows: Int32Array;
  /** Forward sweep (sources first), then the backward sweep (sinks first). */
  readonly sweeps: readonly [readonly LevelPlan[], readonly LevelPlan[]];
}

/**
 * Batches graphs for GHN-2's GatedGNN. The forward sweep updates node v from its
 * predecessors once they are all updated, the backward sweep from its successors — as ppuda's
 * loop over nodes does, but a whole topological level at a time (all nodes of one depth, from
 * every graph of the batch). `sMax` caps the virtual edges used (1: none).
 */
export function batchGraphs(graphs: readonly ArchGraph[], vocab: ShapeVocab, sMax: number): GraphBatch {
  const offsets: number[] = [];
  let n = 0;
  for (const g of graphs) {
    offsets.push(n);
    n += g.nodes.length;
  }
  const types = new Int32Array(n);
  const shapeRows = new Int32Array(n * 4);
  const fwdLevel = new Int32Array(n);
  const bwdLevel = new Int32Array(n);
  const inEdges: [number, number][][] = Array.from({ length: n }, () => []);
  const outEdges: [number, number][][] = Array.from({ length: n }, () => []);
  graphs.forEach((g, gi) => {
    const o = offsets[gi]!;
    types.set(nodeTypeIds(g), o);
    shapeRows.set(
      shapeIndices(
        vocab,
        g.nodes.map((nd) => nd.shape),
      ),
      o * 4,
    );
    const lv = levels(g);
    fwdLevel.set(lv.forward, o);
    bwdLevel.set(lv.backward, o);
    for (const [u, v, d] of g.edges) {
      if (d > sMax) continue;
      inEdges[o + v]!.push([o + u, d]);
      outEdges[o + u]!.push([o + v, d]);
    }
  });
  const plan = (level: Int32Array, edges: [number, number][][]): LevelPlan[] => {
    const depth = level.reduce((a, b) => Math.max(a, b), 0);
    const byLevel: number[][] = Array.from({ length: depth + 1 }, () => []);
    level.forEach((l, v) => byLevel[l]!.push(v));
    return byLevel.map((nodes) => {
      const senders = [...new Set(nodes.flatMap((v) => edges[v]!.map((e) => e[0])))].sort((a, b) => a - b);
      const col = new Map(senders.map((s, j) => [s, j]));
      const direct = new Float32Array(nodes.length * senders.length);
      const virtual = new Float32Array(nodes.length * senders.length);
      let hasVirtual = false;
      nodes.forEach((v, i) => {
        for (const [s, d] of edges[v]!) {
          const k = i * senders.length + col.get(s)!;
          if (d === 1) direct[k] = 1;
          virtual[k] += 1 / d;
          if (d > 1) hasVirtual = true;
        }
      });
      return { nodes: Int32Array.from(nodes), senders: Int32Array.from(senders), direct, virtual, hasVirtual };
    });
  };
  return {
    graphs,
    offsets,
    numNodes: n,
    types,
    shapeRows,
    sweeps: [plan(fwdLevel, inEdges), plan(bwdLevel, outEdges)],
  };
}
