// GHN-2's prediction, step by step as ppuda names them (ppuda/ghn/nn.py): _map_net_params
// (group the parameter nodes by decoder key), the decoders (one call per group), _tile_params
// (crop to the target, tile out/in channels), _normalize, _set_params. GHN2.predict (ghn2.ts)
// chains them; GHN-3 and LoGAH reuse them through GHN2. Internal: not exported by the package.
import * as tf from '@tensorflow/tfjs-core';
import { torchShape, type ParamSpec, type Weights } from '@hypernets/core';
import { torchLayoutKind } from '@hypernets/core/internal';
import { decoderKey, normalization } from './decode.js';
import { GraphError, type ArchGraph } from './graph.js';

/** One tensor to predict: a ParamSpec of one graph, from one node's decoder output. */
export interface ParamJob {
  /** Index of the graph in the batch. */
  readonly graph: number;
  /** Node (in its graph) whose embedding predicts it. */
  readonly node: number;
  readonly spec: ParamSpec;
  /** Row of a 1-D decoder output ([2, c]: 0 weights / norm scales, 1 biases / shifts); null for 2- and 4-D. */
  readonly row: number | null;
  /** Weights and norm scales (normalised as weights), not biases or shifts. */
  readonly isWeight: boolean;
  readonly depthwise: boolean;
}

/** The nodes that share one decoder call (ppuda's key), and what each of them predicts. */
export interface DecoderGroup {
  readonly key: number[];
  /** Rows of the batch's node embeddings, in slot order. */
  readonly nodes: number[];
  /** Each job with the slot (position in `nodes`) of its node. */
  readonly jobs: { job: ParamJob; slot: number }[];
}

/**
 * ppuda's _map_net_params: the parameter nodes of every graph grouped by decoder key
 * (decode.ts), in node order. `offsets` are each graph's first row in the batch.
 */
export function mapNetParams(
  list: readonly ArchGraph[],
  offsets: readonly number[],
  maxShape: readonly number[],
): Map<string, DecoderGroup> {
  const groups = new Map<string, DecoderGroup>();
  list.forEach((g, gi) => {
    const specs = new Map(g.params.map((p) => [p.name, p]));
    const N = g.nodes.length;
    g.nodes.forEach((nd, i) => {
      if (nd.param === null) return;
      const spec = specs.get(nd.param);
      if (!spec)
        throw new GraphError(g.name, `node ${i} predicts '${nd.param}', which is not one of the graph's ParamSpecs`);
      let key: number[];
      try {
        key = decoderKey(nd.shape ?? torchShape(spec), i === N - 2, i === N - 1, maxShape);
      } catch (e) {
        throw new GraphError(g.name, `node ${i} ('${nd.param}'): ${(e as Error).message}`, { cause: e });
      }
      const id = key.join(',');
      let grp = groups.get(id);
      if (!grp) groups.set(id, (grp = { key, nodes: [], jobs: [] }));
      const slot = grp.nodes.length;
      grp.nodes.push(offsets[gi]! + i);
      const oneD = spec.shape.length === 1;
      const isNorm = nd.type === 'bn' || nd.type === 'ln';
      grp.jobs.push({
        job: {
          graph: gi,
          node: i,
          spec,
          row: oneD ? (isNorm ? 0 : 1) : null,
          isWeight: !oneD || isNorm,
          depthwise: nd.depthwise === true,
        },
        slot,
      });
      if (nd.shift !== null) {
        const sh = specs.get(nd.shift);
        if (!sh)
          throw new GraphError(
            g.name,
            `node ${i} predicts the shift '${nd.shift}', which is not one of the graph's ParamSpecs`,
          );
        grp.jobs.push({ job: { graph: gi, node: i, spec: sh, row: 1, isWeight: false, depthwise: false }, slot });
      }
    });
  });
  return groups;
}

/** The decoders of a GHN (GHN2's convDecoder and decoder1d, or a subclass's). */
export interface GroupDecoders {
  conv(x: tf.Tensor, key: readonly number[], classPred: boolean): tf.Tensor;
  oneD(x: tf.Tensor, classBias: boolean, key: readonly number[]): tf.Tensor;
}

/**
 * One decoder call for a group: its nodes' embeddings (rows of `x`) through the decoder its key
 * names — 4-D keys the conv decoder, [o, i > 0] the classification layer, [c, 0 | -1] the 1-D
 * decoder (−1: the class bias). Returns [nodes, ...] in the group's slot order.
 */
export function decode(x: tf.Tensor, group: DecoderGroup, decoders: GroupDecoders): tf.Tensor {
  const { key, nodes } = group;
  const xg = tf.gather(x, tf.tensor1d(nodes, 'int32'));
  return key.length === 4
    ? decoders.conv(xg, key, false)
    : key[1]! > 0
      ? decoders.conv(xg, [key[0]!, key[1]!, 1, 1], true)
      : decoders.oneD(xg, key[1]! < 0, key);
}

/** One node's prediction from its group's decoder output (`row`: the 1-D decoder's row, as in ParamJob). */
export function nodeParams(out: tf.Tensor, slot: number, row: number | null): tf.Tensor {
  // a slice, not tf.unstack: tfjs hands unstack's gradient a lone Tensor when there is one output, and stack() throws
  let w = tf.squeeze(tf.slice(out, [slot, ...out.shape.slice(1).map(() => 0)], [1, ...out.shape.slice(1)]), [0]);
  if (row !== null) w = tf.squeeze(tf.slice(w, [row, 0], [1, -1]), [0]);
  return w;
}

/** The PyTorch shape GHN-2 predicts for a spec: torchShape, or [C·m, 1, kh, kw] for a depthwise kernel [kh, kw, C, m]. */
export function predictedShape(spec: ParamSpec, depthwise: boolean): number[] {
  const [kh, kw, c, mult] = spec.shape;
  return depthwise ? [c! * mult!, 1, kh!, kw!] : torchShape(spec);
}

/**
 * The first half of ppuda's _tile_params: the prediction cropped to the target's PyTorch shape
 * `t` (dropping the decoder's extra trailing dims, as ppuda does with index 0). Kernels smaller
 * than the target's are an error; out/in channels smaller than the target's are tiled later
 * (tileParams).
 */
export function cropParams(w: tf.Tensor, t: readonly number[], name: string, graph: string): tf.Tensor {
  const s = w.shape;
  if (t.length === 1)
    return s.length === 1
      ? tf.slice(w, [0], [Math.min(t[0]!, s[0]!)])
      : tf.reshape(
          tf.slice(w, [0, ...s.slice(1).map(() => 0)], [Math.min(t[0]!, s[0]!), ...s.slice(1).map(() => 1)]),
          [-1],
        );
  if (t.length === 2) {
    const size = [Math.min(t[0]!, s[0]!), Math.min(t[1]!, s[1]!), ...s.slice(2).map(() => 1)];
    return tf.reshape(
      tf.slice(
        w,
        s.map(() => 0),
        size,
      ),
      size.slice(0, 2),
    );
  }
  if (t.length === 4) {
    if (s.length !== 4) throw new GraphError(graph, `'${name}' [${t.join(', ')}] got a ${s.length}-D prediction`);
    const out = tf.slice(
      w,
      [0, 0, 0, 0],
      t.map((d, j) => Math.min(d, s[j]!)),
    );
    if (out.shape[2]! < t[2]! || out.shape[3]! < t[3]!)
      throw new GraphError(
        graph,
        `'${name}' has ${t[2]}×${t[3]} kernels, larger than the GHN predicts (${out.shape[2]}×${out.shape[3]})`,
      );
    return out;
  }
  throw new GraphError(graph, `'${name}': GHN-2 predicts 1-, 2- and 4-D parameters, not [${t.join(', ')}]`);
}

/**
 * ppuda's _normalize for a target of PyTorch shape `t` (decode.ts `normalization`): weights ×
 * √(β / fan_in), norm scales 2·sigmoid(0.5 p), biases and shifts tanh(0.2 p); elementwise, so
 * it gives the same values before or after tiling.
 */
export function normalize(w: tf.Tensor, t: readonly number[], isWeight: boolean): tf.Tensor {
  const nz = normalization(t, isWeight);
  if (nz.kind === 'fan-in') return tf.mul(w, nz.scale);
  if (nz.kind === 'norm-scale') return tf.mul(tf.sigmoid(tf.mul(w, 0.5)), 2);
  if (nz.kind === 'bias') return tf.tanh(tf.mul(w, 0.2));
  return w;
}

/**
 * The second half of ppuda's _tile_params, in the target's layout: a cropped prediction
 * (PyTorch layout, each dim ≤ the target's) transposed to the spec's layout, repeated along
 * the dims where the target is larger and sliced to `spec.shape`.
 */
export function tileParams(w: tf.Tensor, spec: ParamSpec, depthwise: boolean): tf.Tensor {
  const [kh, kw, c, mult] = spec.shape;
  const kind = torchLayoutKind(spec); // core's rule (torch-layout.ts), applied to the small tensor
  const perm = kind === 'conv' ? [2, 3, 1, 0] : kind === 'dense' ? [1, 0] : null;
  const small = perm ? tf.transpose(w, perm) : w;
  // depthwise: [C·m, 1, kh, kw] → [kh, kw, 1, C·m] (above) → tiled to [kh, kw, 1, C·m] → [kh, kw, C, m]
  const target = depthwise ? [kh!, kw!, 1, c! * mult!] : (spec.shape as number[]);
  const reps = target.map((d, j) => Math.ceil(d / small.shape[j]!));
  let out = reps.some((r) => r > 1) ? tf.tile(small, reps) : small;
  if (out.shape.some((d, j) => d !== target[j]))
    out = tf.slice(
      out,
      target.map(() => 0),
      target,
    );
  return depthwise ? tf.reshape(out, spec.shape as number[]) : out;
}

/**
 * ppuda's _set_params, functionally: each graph's predicted tensors by ParamSpec name, and
 * the specs no node predicted (they keep their own init).
 */
export function setParams(
  list: readonly ArchGraph[],
  weights: readonly Weights[],
): { weights: Weights; missing: string[] }[] {
  return list.map((g, gi) => ({
    weights: weights[gi]!,
    missing: g.params.filter((p) => !(p.name in weights[gi]!)).map((p) => p.name),
  }));
}
