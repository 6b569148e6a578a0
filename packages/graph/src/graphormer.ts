// GHN-3's Graphormer layers (ghn3/graphormer.py: TransformerLayer, MultiHeadSelfAttentionEdges,
// EdgeEmbedding, FeedForward) as pure functions of the node features and a weight lookup, plus
// the host-side structure they read from the graphs: the dense shortest-path matrix, node
// degrees, the distance from the input node, and the (forward, backward) distance pairs of the
// edge embeddings.
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, affine, gelu, layerNormalize, linearTorch, multiHeadAttention } from '@hypernets/core';
import { GraphError, type ArchGraph } from './graph.js';

/** ghn3's TransformerLayer.max_degree: in/out degrees are clipped to it. */
export const MAX_DEGREE = 100;
/** ghn3's TransformerLayer.max_input_dist: distances from the input node are clipped to it. */
export const MAX_INPUT_DIST = 1000;
/** Rows of ghn3's EdgeEmbedding ("255 + 2 is the maximum shortest path distance"). */
export const EDGE_EMBED_ROWS = 257;
/** ghn3's masked_fill value for attention between padded nodes (−2¹⁵, "to work with amp"). */
const MASKED = -(2 ** 15);

/**
 * The dense graphs of a batch as ghn3's GraphBatch(dense=True) holds them: per graph the [M, M]
 * matrix of shortest-path lengths d(i → j) (1 for a real edge, 2…sMax for a virtual one, 0 for
 * none and on the diagonal), zero-padded to the largest graph, M nodes each.
 */
export interface DenseGraphs {
  readonly sizes: readonly number[];
  /** Largest graph. */
  readonly M: number;
  /** [B, M, M] row-major, d(i → j) at b·M² + i·M + j. */
  readonly dist: Int32Array;
  /** True when some graph is smaller than M (attention then masks the padding). */
  readonly padded: boolean;
}

export function denseGraphs(graphs: readonly Pick<ArchGraph, 'name' | 'nodes' | 'edges'>[], sMax: number): DenseGraphs {
  const sizes = graphs.map((g) => g.nodes.length);
  const M = Math.max(...sizes);
  const dist = new Int32Array(graphs.length * M * M);
  graphs.forEach((g, b) => {
    for (const [u, v, d] of g.edges) {
      if (d > sMax) continue;
      if (d + 2 >= EDGE_EMBED_ROWS)
        throw new GraphError(
          g.name,
          `edge ${u} → ${v} has distance ${d}; GHN-3's edge embedding supports up to ${EDGE_EMBED_ROWS - 3}`,
        );
      dist[b * M * M + u * M + v] = d;
    }
  });
  return { sizes, M, dist, padded: sizes.some((n) => n < M) };
}

/**
 * What ghn3's first Graphormer layer adds to the node features: rows of centrality_embed_in
 * (in-degree over real edges), centrality_embed_out (out-degree) and input_dist_embed
 * (d(0 → j), node 0 being the input; 0 where no path), each [B·M], clipped as ghn3 clips them.
 */
export function structureIndices(g: DenseGraphs): {
  inDegree: Int32Array;
  outDegree: Int32Array;
  inputDist: Int32Array;
} {
  const { M, dist } = g;
  const B = g.sizes.length;
  const inDegree = new Int32Array(B * M);
  const outDegree = new Int32Array(B * M);
  const inputDist = new Int32Array(B * M);
  for (let b = 0; b < B; b++) {
    const o = b * M * M;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < M; j++)
        if (dist[o + i * M + j] === 1) {
          outDegree[b * M + i]!++;
          inDegree[b * M + j]!++;
        }
    for (let j = 0; j < M; j++) inputDist[b * M + j] = Math.min(dist[o + j]!, MAX_INPUT_DIST);
  }
  for (let k = 0; k < B * M; k++) {
    inDegree[k] = Math.min(inDegree[k]!, MAX_DEGREE);
    outDegree[k] = Math.min(outDegree[k]!, MAX_DEGREE);
  }
  return { inDegree, outDegree, inputDist };
}

/**
 * The edge embedding rows of every node pair, (d(i → j) + 2, d(j → i) + 2) as ghn3 stacks the
 * forward and transposed distance matrices, reduced to the distinct pairs (a DAG has at most
 * 2·sMax + 1 of them): `pairs` [P, 2] and, per pair (b, i, j), its row in `pairs`.
 */
export function edgePairs(g: DenseGraphs): { pairs: Int32Array; index: Int32Array } {
  const { M, dist } = g;
  const B = g.sizes.length;
  const index = new Int32Array(B * M * M);
  const ids = new Map<number, number>();
  const pairs: number[] = [];
  for (let b = 0; b < B; b++) {
    const o = b * M * M;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < M; j++) {
        const fw = dist[o + i * M + j]! + 2;
        const bw = dist[o + j * M + i]! + 2;
        const key = fw * EDGE_EMBED_ROWS + bw;
        let id = ids.get(key);
        if (id === undefined) {
          id = pairs.length / 2;
          ids.set(key, id);
          pairs.push(fw, bw);
        }
        index[o + i * M + j] = id;
      }
  }
  return { pairs: Int32Array.from(pairs), index };
}

/** A weight by its state_dict name (PyTorch layout: Linear weights [out, in]). */
export type WeightLookup = (name: string) => tf.Tensor;

function linear(x: tf.Tensor, w: WeightLookup, name: string, bias = true): tf.Tensor {
  return linearTorch(x, w(`${name}.weight`), bias ? w(`${name}.bias`) : undefined);
}

/** LayerNorm over the last axis (PyTorch's: biased variance, eps inside the square root): core's layerNormalize + affine. */
export function layerNorm(x: tf.Tensor, w: WeightLookup, name: string, eps = 1e-5): tf.Tensor {
  return affine(layerNormalize(x, eps), w(`${name}.weight`), w(`${name}.bias`));
}

/**
 * Per-head attention biases [B, H, M, M] from the edge embeddings (ghn3's first
 * MultiHeadSelfAttentionEdges: embed both distances, concatenate forward then backward, proj_e =
 * Linear(2C, C) → ReLU → Linear(C, H)), computed once per distinct pair and gathered.
 */
export function edgeBias(g: DenseGraphs, w: WeightLookup, prefix: string, heads: number): tf.Tensor {
  return tf.tidy(() => {
    const { pairs, index } = edgePairs(g);
    const P = pairs.length / 2;
    const rows = tf.gather(w(`${prefix}.edge_embed.embed.weight`), tf.tensor1d(pairs, 'int32')); // [2P, C]
    const e = tf.reshape(rows, [P, -1]); // [fw row, bw row] per pair, as ghn3's reshape of (…, 2, C)
    const t = linear(tf.relu(linear(e, w, `${prefix}.proj_e.0`)), w, `${prefix}.proj_e.2`); // [P, H]
    const B = g.sizes.length;
    const bias = tf.reshape(tf.gather(t, tf.tensor1d(index, 'int32')), [B, g.M, g.M, heads]);
    return tf.transpose(bias, [0, 3, 1, 2]);
  });
}

/** Attention mask [B, H, M, M]: true between real nodes, false where either is padding (ghn3: mask & maskᵀ). */
export function paddingMask(g: DenseGraphs, heads: number): tf.Tensor {
  const { M } = g;
  const B = g.sizes.length;
  const m = new Uint8Array(B * heads * M * M);
  g.sizes.forEach((n, b) => {
    for (let h = 0; h < heads; h++) {
      const o = (b * heads + h) * M * M;
      for (let i = 0; i < n; i++) m.fill(1, o + i * M, o + i * M + n);
    }
  });
  return tf.tensor4d(m, [B, heads, M, M], 'bool');
}

/**
 * One Graphormer layer (ghn3's TransformerLayer with mlp_ratio 4, no qkv bias, pre-norm):
 * x ← x + to_out(softmax(q·kᵀ/√d_head + bias + mask)·v), x ← x + ff(ln2(x)), with q, k, v from
 * to_qkv(ln1(x)) and the attention itself core's multiHeadAttention. `x` [B, M, C]; `bias`
 * [B, H, M, M] or null; `mask` (paddingMask, [B, H, M, M]) or null: masked scores are set to
 * −2¹⁵ before the softmax, as ghn3's masked_fill does.
 */
export function graphormerLayer(
  x: tf.Tensor,
  bias: tf.Tensor | null,
  mask: tf.Tensor | null,
  w: WeightLookup,
  prefix: string,
  heads: number,
): tf.Tensor {
  return tf.tidy(() => {
    const [B, M, C] = x.shape as [number, number, number];
    if (C % heads !== 0)
      throw new ConfigError('heads', `graphormerLayer: ${C} features do not split into ${heads} heads`);
    const flat = tf.reshape(x, [B * M, C]);
    const qkv = linear(layerNorm(flat, w, `${prefix}.ln1`), w, `${prefix}.attn.to_qkv`, false); // [B·M, 3C]
    // ghn3 reshapes qkv to (B, M, 3, H, hd): q, k, v are the three C-wide thirds, each split
    // head-major into (H, hd), which is how multiHeadAttention splits its d channels.
    const [q, k, v] = tf.split(tf.reshape(qkv, [B, M, 3 * C]), 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const attn = multiHeadAttention(q, k, v, heads, {
      bias: bias ?? undefined,
      mask: mask ?? undefined,
      maskedValue: MASKED,
    }); // [B, M, C]
    const h = tf.add(flat, linear(tf.reshape(attn, [B * M, C]), w, `${prefix}.attn.to_out.0`));
    const ff = linear(gelu(linear(layerNorm(h, w, `${prefix}.ln2`), w, `${prefix}.ff.net.0`)), w, `${prefix}.ff.net.3`);
    return tf.reshape(tf.add(h, ff), [B, M, C]);
  });
}
