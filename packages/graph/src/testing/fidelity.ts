// Shared by the tests that compare our graphs and predictions with a PyTorch reference
// (ppuda-fidelity, ghn3-fidelity, zoo/cellnet): node matching, reordering, relative error.
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { toTorchLayout, type TargetNet } from '@hypernets/core';
import type { ArchGraph } from '../graph.js';
import type { GHN2 } from '../ghn2.js';

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
export function nodeMapping(
  g: ArchGraph,
  r: ReferenceGraph,
  label: string,
  refName: (n: string) => string = (n) => n,
): number[] {
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
    if (j === undefined)
      throw new Error(`${label}: node ${i} (${nd.type} ${nd.name}) has no counterpart in the reference graph`);
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

/** A reference tensor: its PyTorch shape, norm, first values and 64 evenly spaced samples. */
export interface ReferenceParam {
  readonly name: string;
  readonly shape: readonly number[];
  readonly numel: number;
  readonly norm: number;
  readonly first: readonly number[];
  readonly sample: readonly number[];
}

/**
 * Predicts the graph's parameters and checks every tensor against the reference (names and
 * order, PyTorch shape, first values, samples, norm) within `tol` relative error; nothing may
 * be missing. Returns the worst relative error.
 */
export function checkPredictions(
  ghn: GHN2,
  graph: ArchGraph,
  net: TargetNet,
  params: readonly ReferenceParam[],
  tol: number,
): number {
  const [p] = ghn.predict(graph);
  expect(p!.missing).toEqual([]);
  const specs = new Map(net.params.map((s) => [s.name, s]));
  expect(params.map((q) => q.name)).toEqual(net.params.map((s) => s.name));
  let worst = 0;
  for (const q of params) {
    const t = tf.tidy(() => toTorchLayout(specs.get(q.name)!, p!.weights[q.name]!));
    expect(t.shape, q.name).toEqual(q.shape);
    const v = t.dataSync();
    const idx = q.sample.map((_, k) => Math.round((k * (q.numel - 1)) / 63));
    const e = Math.max(
      relErr(
        idx.map((i) => v[i]!),
        q.sample,
      ),
      relErr(v.subarray(0, q.first.length), q.first),
    );
    let ss = 0;
    for (let i = 0; i < v.length; i++) ss += v[i]! ** 2;
    const eNorm = Math.abs(Math.sqrt(ss) - q.norm) / q.norm;
    worst = Math.max(worst, e, eNorm);
    expect(e, `${q.name} values`).toBeLessThan(tol);
    expect(eNorm, `${q.name} norm`).toBeLessThan(tol);
    t.dispose();
  }
  tf.dispose(Object.values(p!.weights));
  return worst;
}
