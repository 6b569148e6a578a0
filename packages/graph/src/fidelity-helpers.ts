// Shared by the tests that compare our graphs and predictions with a PyTorch reference
// (ppuda-fidelity, ghn3-fidelity, zoo/cellnet): node matching, reordering, relative error.
import type { ArchGraph } from './graph.js';

/** A reference graph: node types and parameter names in the reference's order, real edges [src, dst(, d)]. */
export interface ReferenceGraph {
  readonly nodes: readonly { readonly type: string; readonly name: string | null }[];
  readonly edges: readonly (readonly number[])[];
}

/**
 * Our node i → the reference's node: parameter nodes by parameter name (`refName` maps ours
 * to the reference's naming), the input to node 0, every other node by its type and its
 * (already mapped) real inputs. Throws naming the first node without a counterpart.
 */
export function nodeMapping(g: ArchGraph, r: ReferenceGraph, label: string, refName: (n: string) => string = (n) => n): number[] {
  const byName = new Map<string, number>();
  r.nodes.forEach((n, j) => {
    if (n.name !== null && n.type !== 'max_pool' && n.type !== 'avg_pool') byName.set(n.name, j);
  });
  const sortedKey = (xs: readonly number[]) => [...xs].sort((a, b) => a - b).join();
  const refPreds = r.nodes.map(() => [] as number[]);
  for (const [u, v, d] of r.edges) if (d === undefined || d === 1) refPreds[v!]!.push(u!);
  const refKeys = refPreds.map(sortedKey);
  const preds = g.nodes.map(() => [] as number[]);
  for (const [u, v, d] of g.edges) if (d === 1) preds[v]!.push(u);
  const map: number[] = [];
  const taken = new Set<number>();
  g.nodes.forEach((nd, i) => {
    let j: number | undefined;
    if (nd.param !== null) j = byName.get(refName(nd.param));
    else if (nd.type === 'input') j = 0;
    else {
      const want = sortedKey(preds[i]!.map((p) => map[p]!));
      const k = r.nodes.findIndex((rn, k) => rn.type === nd.type && !taken.has(k) && refKeys[k] === want);
      j = k < 0 ? undefined : k;
    }
    if (j === undefined) throw new Error(`${label}: node ${i} (${nd.type} ${nd.name}) has no counterpart in the reference graph`);
    taken.add(j);
    map.push(j);
  });
  return map;
}

/** Rows [N, C] in the reference's node order → our order. */
export function reorderRows(raw: Float32Array, map: readonly number[], C: number): Float32Array {
  const out = new Float32Array(map.length * C);
  map.forEach((j, i) => out.set(raw.subarray(j * C, (j + 1) * C), i * C));
  return out;
}

/** ‖a − b‖ / ‖b‖. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}
