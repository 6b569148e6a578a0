import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng, ShapeMismatchError, paramSpec, tidy, torchShape, type ParamSpec } from '@hypernets/core';
import type { GraphBatch } from './batch.js';
import { GHN2, type Ghn2Config, type ResolvedGhn2Config } from './ghn2.js';
import { GraphError } from './graph.js';
import {
  EDGE_EMBED_ROWS,
  MAX_DEGREE,
  MAX_INPUT_DIST,
  denseGraphs,
  edgeBias,
  graphormerLayer,
  paddingMask,
  structureIndices,
  type DenseGraphs,
} from './graphormer.js';

export interface Ghn3Config extends Ghn2Config {
  /** Node embedding size. Default 64 (GHN-3-T), 32 with `isGhn2`. */
  hid?: number;
  /**
   * Largest tensor the decoder predicts directly. Default [hid, hid, s, s] (GHN-3; [2·hid, 2·hid, s, s]
   * with `isGhn2`), s = 16 for numClasses ≥ 1000 (ImageNet) else 11, as ghn3's train_ghn_ddp.py / from_pretrained.
   */
  maxShape?: readonly [number, number, number, number];
  /** Graphormer layers. Default 3 (ghn3's default and GHN-3-T; GHN-3-XL has 24). */
  layers?: number;
  /** Attention heads. Default 16 if hid > 64 else 8 (ghn3's from_pretrained). */
  heads?: number;
  /**
   * ghn3's `is_ghn2`: a GHN-2 in GHN-3's class (the GatedGNN, ConvDecoder3 cropping kernels from the
   * corner, parameter tiling as GHN-2) rather than Graphormer layers and centred kernels. Default false.
   */
  isGhn2?: boolean;
}

export type ResolvedGhn3Config = ResolvedGhn2Config & { layers: number; heads: number; isGhn2: boolean };

type Init =
  { kind: 'uniform'; bound: number } | { kind: 'trunc-normal'; std: number } | { kind: 'ones' } | { kind: 'zeros' };

/** ppuda's / ghn3's ParamSpec kind rule for GHN variables (the same as GHN2's). */
export function ghnParamSpec(name: string, shape: readonly number[], layer: number): ParamSpec {
  return paramSpec({
    name,
    shape: [...shape],
    kind: name.endsWith('bias')
      ? 'bias'
      : shape.length === 1
        ? 'norm-scale'
        : name.includes('embed')
          ? 'embedding'
          : 'weight',
    layer,
    fanIn: shape[1] ?? shape[0]!,
    fanOut: shape[0]!,
  });
}

function resolve(config: Ghn3Config): { base: Ghn2Config; layers: number; heads: number; isGhn2: boolean } {
  const isGhn2 = config.isGhn2 ?? false;
  const hid = config.hid ?? (isGhn2 ? 32 : 64);
  const numClasses = config.numClasses ?? 10;
  const s = numClasses >= 1000 ? 16 : 11;
  const c = isGhn2 ? 2 * hid : hid;
  const layers = config.layers ?? 3;
  const heads = config.heads ?? (hid > 64 ? 16 : 8);
  if (!isGhn2) {
    if (!Number.isInteger(layers) || layers < 1)
      throw new ConfigError('layers', `must be a positive integer, got ${config.layers}`);
    if (!Number.isInteger(heads) || heads < 1 || hid % heads !== 0)
      throw new ConfigError('heads', `must be a positive integer dividing hid = ${hid}, got ${config.heads}`);
    const ve = config.virtualEdges ?? true;
    if (typeof ve === 'number' && ve > EDGE_EMBED_ROWS - 3)
      throw new ConfigError(
        'virtualEdges',
        `GHN-3's edge embedding has ${EDGE_EMBED_ROWS} rows: shortest paths up to ${EDGE_EMBED_ROWS - 3}, got ${ve}`,
      );
  }
  return {
    base: {
      hid,
      maxShape: config.maxShape ?? [c, c, s, s],
      numClasses,
      virtualEdges: config.virtualEdges ?? true,
      layernorm: config.layernorm ?? true,
      weightNorm: config.weightNorm ?? true,
      steps: config.steps ?? 1,
      seed: config.seed ?? 0,
    },
    layers,
    heads,
    isGhn2,
  };
}

/**
 * GHN-3 (Knyazev, Hwang & Lacoste-Julien, "Can We Scale Transformers to Predict Parameters of
 * Diverse ImageNet Models?", ICML 2023; SamsungSAILMontreal/ghn3): GHN-2's node embeddings,
 * shape encoder and decoders, with the GatedGNN replaced by Graphormer layers. The first layer
 * adds in/out-degree and input-distance embeddings to the nodes and turns the shortest-path
 * matrix (forward and backward distance, virtual edges included) into per-head attention
 * biases, which every later layer adds to its attention scores too. The decoder is ghn3's
 * ConvDecoder3 (Linear layers; kernels cropped around the centre of the decoder's 11×11 / 16×16
 * map, bilinear upsampling for larger ones), and tiling keeps kernels centred.
 *
 * As in ghn3 (`class GHN3(GHN)`), this extends GHN-2: same public API, predict pipeline and
 * normalisation; variables carry ghn3's state_dict names and PyTorch shapes
 * (`gnn.0.attn.to_qkv.weight`, `gnn.0.centrality_embed_in.weight`, `decoder.conv.2.weight` [O·I, 8·hid], …).
 * Initialisation follows ghn3: PyTorch defaults, embeddings truncated-normal with std d^-½, the
 * last decoder layers scaled by 1/5 with zero biases.
 *
 * One deliberate difference: for a batch of graphs of different sizes, ghn3 indexes its padded
 * [B·M, C] embeddings with unpadded offsets, so graphs after a smaller one get other nodes'
 * embeddings; here each graph's prediction is the same in a batch as alone.
 */
export class GHN3 extends GHN2 {
  declare readonly config: ResolvedGhn3Config;

  constructor(config: Ghn3Config = {}) {
    const r = resolve(config);
    super(r.base); // GHN-2's modules first, then ghn3's replacements, as GHN3.__init__ does
    (this as { config: ResolvedGhn3Config }).config = {
      ...this.config,
      layers: r.layers,
      heads: r.heads,
      isGhn2: r.isGhn2,
    };
    const { hid, seed } = this.config;
    const rng = new Rng((seed ^ 0x67686e33) | 0);
    const draw = (shape: number[], init: Init): tf.Tensor => {
      if (init.kind === 'uniform') return rng.uniformTensor(shape, -init.bound, init.bound);
      if (init.kind === 'trunc-normal') return tf.tidy(() => tf.clipByValue(rng.normal(shape, 0, init.std), -2, 2)); // trunc_normal_(std, a=-2, b=2)
      return init.kind === 'ones' ? tf.ones(shape) : tf.zeros(shape);
    };
    const set = (name: string, t: tf.Tensor) => {
      this.vars[name]?.dispose();
      this.vars[name] = tf.variable(t, true);
      t.dispose();
    };
    const linear = (name: string, inF: number, outF: number, bias = true) => {
      const bound = 1 / Math.sqrt(inF);
      set(`${name}.weight`, draw([outF, inF], { kind: 'uniform', bound }));
      if (bias) set(`${name}.bias`, draw([outF], { kind: 'uniform', bound }));
    };
    // ConvDecoder3: nn.Linear instead of the 1×1 Conv2d of ppuda's decoder (same init distribution)
    for (const name of ['decoder.conv.0', 'decoder.conv.2', 'decoder.class_layer_predictor.1']) {
      const w = this.vars[`${name}.weight`]!;
      set(`${name}.weight`, tf.reshape(w, [w.shape[0]!, w.shape[1]!]));
    }
    if (!this.config.isGhn2) {
      for (const name of Object.keys(this.vars))
        if (name.startsWith('gnn.')) {
          this.vars[name]!.dispose();
          delete this.vars[name];
        }
      for (let l = 0; l < this.config.layers; l++) {
        const p = `gnn.${l}`;
        set(`${p}.ln1.weight`, draw([hid], { kind: 'ones' }));
        set(`${p}.ln1.bias`, draw([hid], { kind: 'zeros' }));
        if (l === 0) {
          set(
            `${p}.attn.edge_embed.embed.weight`,
            draw([EDGE_EMBED_ROWS, hid], { kind: 'trunc-normal', std: hid ** -0.5 }),
          );
          linear(`${p}.attn.proj_e.0`, 2 * hid, hid);
          linear(`${p}.attn.proj_e.2`, hid, this.config.heads);
        }
        linear(`${p}.attn.to_qkv`, hid, 3 * hid, false);
        linear(`${p}.attn.to_out.0`, hid, hid);
        set(`${p}.ln2.weight`, draw([hid], { kind: 'ones' }));
        set(`${p}.ln2.bias`, draw([hid], { kind: 'zeros' }));
        linear(`${p}.ff.net.0`, hid, 4 * hid);
        linear(`${p}.ff.net.3`, 4 * hid, hid);
      }
      set('gnn.0.centrality_embed_in.weight', draw([MAX_DEGREE + 1, hid], { kind: 'trunc-normal', std: hid ** -0.5 }));
      set('gnn.0.centrality_embed_out.weight', draw([MAX_DEGREE + 1, hid], { kind: 'trunc-normal', std: hid ** -0.5 }));
      set('gnn.0.input_dist_embed.weight', draw([MAX_INPUT_DIST + 1, hid], { kind: 'trunc-normal', std: hid ** -0.5 }));
      // _init_small: weights / 5, biases 0
      for (const name of ['decoder_1d.fc.2', 'decoder.conv.2', 'decoder.class_layer_predictor.1']) {
        const w = this.vars[`${name}.weight`]!;
        set(`${name}.weight`, tf.div(w, 5));
        set(`${name}.bias`, tf.zerosLike(this.vars[`${name}.bias`]!));
      }
      // _init_embed on every nn.Embedding of GHN-2's part (the Graphormer's are drawn above)
      for (const name of ['embed.weight', 'shape_enc.embed_spatial.weight', 'shape_enc.embed_channel.weight']) {
        const w = this.vars[name]!;
        set(name, draw([...w.shape], { kind: 'trunc-normal', std: w.shape[1]! ** -0.5 }));
      }
    }
    this.resetParams();
  }

  /** Re-lists the ParamSpecs after the variables changed (ghn3's module order: ln, embed, shape_enc, gnn, decoder, decoder_1d, bias_class). */
  protected resetParams(): void {
    const order = ['ln.', 'embed.', 'shape_enc.', 'gnn.', 'decoder.', 'decoder_1d.', 'bias_class.'];
    const rank = (n: string) => order.findIndex((p) => n.startsWith(p));
    const names = Object.keys(this.vars).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    (this as { params: readonly ParamSpec[] }).params = names.map((n, j) => ghnParamSpec(n, this.vars[n]!.shape, j));
  }

  /** The dense graphs the Graphormer reads (shortest paths up to the GHN's sMax). */
  denseGraphs(batch: GraphBatch): DenseGraphs {
    return denseGraphs(batch.graphs, this.config.sMax);
  }

  /**
   * The Graphormer stack stage by stage, for inspection: `struct` (the nodes after the first layer's
   * degree and input-distance embeddings), `layers` (after each layer), all [numNodes, hid] in batch
   * order, and the first layer's attention biases `bias` [B, heads, M, M] (M: largest graph).
   */
  graphormerStages(
    x: tf.Tensor2D,
    batch: GraphBatch,
  ): { struct: tf.Tensor2D; layers: tf.Tensor2D[]; bias: tf.Tensor4D } {
    if (this.config.isGhn2)
      throw new GraphError(
        batch.graphs[0]?.name ?? 'batch',
        'this GHN3 is in GHN-2 mode (isGhn2): it has a GatedGNN, not Graphormer layers',
      );
    const out: tf.Tensor[] = [];
    const g = this.denseGraphs(batch);
    const B = g.sizes.length;
    const { M } = g;
    const C = this.config.hid;
    const w = (n: string) => this.w(n);
    return tidy(() => {
      // [B·M] rows of x (row numNodes: zeros for padding) and back
      const toDense = new Int32Array(B * M).fill(batch.numNodes);
      const fromDense = new Int32Array(batch.numNodes);
      g.sizes.forEach((n, b) => {
        for (let i = 0; i < n; i++) {
          toDense[b * M + i] = batch.offsets[b]! + i;
          fromDense[batch.offsets[b]! + i] = b * M + i;
        }
      });
      const unpad = (t: tf.Tensor) =>
        g.padded ? tf.gather(tf.reshape(t, [B * M, C]), tf.tensor1d(fromDense, 'int32')) : tf.reshape(t, [B * M, C]);
      let h: tf.Tensor = g.padded ? tf.gather(tf.concat([x, tf.zeros([1, C])], 0), tf.tensor1d(toDense, 'int32')) : x;
      const s = structureIndices(g);
      h = tf.addN([
        h,
        tf.gather(w('gnn.0.centrality_embed_in.weight'), tf.tensor1d(s.inDegree, 'int32')),
        tf.gather(w('gnn.0.centrality_embed_out.weight'), tf.tensor1d(s.outDegree, 'int32')),
        tf.gather(w('gnn.0.input_dist_embed.weight'), tf.tensor1d(s.inputDist, 'int32')),
      ]);
      out.push(unpad(h));
      if (g.padded) {
        const valid = new Float32Array(B * M);
        g.sizes.forEach((n, b) => valid.fill(1, b * M, b * M + n));
        h = tf.mul(h, tf.tensor2d(valid, [B * M, 1]));
      }
      h = tf.reshape(h, [B, M, C]);
      const bias = edgeBias(g, w, 'gnn.0.attn', this.config.heads);
      const mask = g.padded ? paddingMask(g, this.config.heads) : null;
      for (let l = 0; l < this.config.layers; l++) {
        h = graphormerLayer(h, bias, mask, w, `gnn.${l}`, this.config.heads);
        out.push(unpad(h));
      }
      return {
        struct: out[0] as tf.Tensor2D,
        layers: out.slice(1) as tf.Tensor2D[],
        bias: bias as tf.Tensor4D,
      };
    });
  }

  /** The Graphormer stack (GHN-3) or, with isGhn2, GHN-2's GatedGNN. */
  override propagate(x: tf.Tensor2D, batch: GraphBatch): tf.Tensor2D {
    if (this.config.isGhn2) return super.propagate(x, batch);
    const { struct, layers, bias } = this.graphormerStages(x, batch);
    const last = layers.pop()!;
    tf.dispose([struct, bias, ...layers]);
    return last;
  }

  /**
   * ghn3's ConvDecoder3 for a group with key [o, i, kh, kw] (or a classification layer): the fc
   * map [n, 4·hid, K, K] cropped to the kernel around its centre (GHN-2 mode: from the corner),
   * the two Linear layers for all O·I channels of every pixel, sliced to [n, o', i', kh', kw'];
   * square kernels larger than K are upsampled bilinearly; a classification layer reads the
   * centre pixel through class_layer_predictor → [n, classes, i'].
   */
  protected override convDecoder(x: tf.Tensor, key: readonly number[], classPred: boolean): tf.Tensor {
    const [O, I, K] = this.config.maxShape;
    const hid0 = this.config.hid * 4;
    const n = x.shape[0]!;
    const [kh, kw] = [key[2]!, key[3]!];
    const crop = (k: number): [number, number] => {
      if (this.config.isGhn2) return [0, Math.min(K, k)];
      const off = Math.floor(K / 2);
      const a = Math.max(0, off - Math.floor(k / 2));
      return [a, Math.min(K, off + Math.ceil(k / 2)) - a];
    };
    const [r0, h] = crop(kh);
    const [c0, wd] = crop(kw);
    let y = tf.reshape(tf.relu(this.linear(x, 'decoder.fc.0')), [n, hid0, K, K]);
    if (h < K || wd < K) y = tf.slice(y, [0, 0, r0, c0], [n, hid0, h, wd]);
    y = tf.reshape(tf.transpose(y, [0, 2, 3, 1]), [n * h * wd, hid0]);
    let z = this.linear(tf.relu(this.linear(y, 'decoder.conv.0')), 'decoder.conv.2'); // [n·h·w, O·I]
    const i1 = Math.min(I, key[1]!);
    z = tf.transpose(tf.reshape(z, [n, h, wd, O, I]), [0, 3, 4, 1, 2]); // [n, O, I, h, w]
    if (i1 < I) z = tf.slice(z, [0, 0, 0, 0, 0], [n, O, i1, h, wd]);
    if (Math.min(kh, kw) > Math.min(h, wd)) {
      // F.interpolate(mode='bilinear', align_corners=False) over (h, w), channels i'
      const img = tf.transpose(tf.reshape(z, [n * O, i1, h, wd]), [0, 2, 3, 1]);
      const up = tf.image.resizeBilinear(img as tf.Tensor4D, [kh, kw], false, true);
      z = tf.reshape(tf.transpose(up, [0, 3, 1, 2]), [n, O, i1, kh, kw]);
    }
    if (!classPred) return key[0]! < O ? tf.slice(z, [0, 0, 0, 0, 0], [n, key[0]!, -1, -1, -1]) : z;
    const [, , , zh, zw] = z.shape as number[];
    if (zh !== zw)
      throw new ShapeMismatchError(
        'GHN3 classification layer kernel',
        [zw!, zw!],
        [zh!, zw!],
        'a classification layer needs a square kernel',
      );
    const k = Math.floor(zw! / 2);
    const centre = tf.reshape(tf.slice(z, [0, 0, 0, k, k], [n, O, i1, 1, 1]), [n, O, i1]);
    const c = this.linear(
      tf.relu(tf.reshape(tf.transpose(centre, [0, 2, 1]), [n * i1, O])),
      'decoder.class_layer_predictor.1',
    );
    return tf.transpose(tf.reshape(c, [n, i1, this.config.numClasses]), [0, 2, 1]); // [n, classes, i']
  }

  /**
   * ghn3's _tile_params on top of GHN-2's: 4-D targets of a 2-D prediction get trailing 1×1 dims;
   * GHN-3 crops predicted kernels around their centre (GHN-2 mode: from the corner), then GHN-2's
   * slicing, normalisation and channel tiling.
   */
  protected override fit(
    w: tf.Tensor,
    spec: ParamSpec,
    isWeight: boolean,
    depthwise: boolean,
    graph: string,
  ): tf.Tensor {
    const [kh, kw, c, mult] = spec.shape;
    const t = depthwise ? [c! * mult!, 1, kh!, kw!] : torchShape(spec);
    if (t.length === 4 && w.rank === 2) w = tf.reshape(w, [...w.shape, 1, 1]);
    if (t.length === 4 && w.rank === 4 && !this.config.isGhn2) {
      const [, , sh, sw] = w.shape as number[];
      const h = Math.min(t[2]!, sh!);
      const wd = Math.min(t[3]!, sw!);
      if (h < sh! || wd < sw!)
        w = tf.slice(
          w,
          [0, 0, Math.floor(sh! / 2) - Math.floor(h / 2), Math.floor(sw! / 2) - Math.floor(wd / 2)],
          [-1, -1, h, wd],
        );
    }
    return super.fit(w, spec, isWeight, depthwise, graph);
  }
}
