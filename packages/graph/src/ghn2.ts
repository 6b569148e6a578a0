import * as tf from '@tensorflow/tfjs-core';
import { affine, layerNormalize, linearTorch } from '@hypernets/core';
import { ConfigError, Rng, paramSpec, tidy, type ParamSpec, type Weights } from '@hypernets/core';
import { VariableOwner } from '@hypernets/nets/internal';
import { batchGraphs, type GraphBatch, type LevelPlan } from './batch.js';
import {
  cropParams,
  decode,
  mapNetParams,
  nodeParams,
  normalize,
  predictedShape,
  setParams,
  tileParams,
  type GroupDecoders,
} from './ghn2-predict.js';
import type { ArchGraph } from './graph.js';
import { PRIMITIVES } from './primitives.js';
import { shapeVocab, type ShapeVocab } from './shape-encoder.js';

export interface Ghn2Config {
  /** Node embedding size. Default 32 (ppuda's CIFAR-10 and ImageNet GHN-2). */
  hid?: number;
  /** Largest tensor the decoder predicts directly, [out, in, kh, kw]; larger ones are tiled. Default [64, 64, 11, 11]. */
  maxShape?: readonly [number, number, number, number];
  /** Classes of the dataset the GHN predicts classifiers for. Default 10. */
  numClasses?: number;
  /** Virtual-edge messages (GHN-2; GHN-1 has none): edges up to this shortest-path length. true = 50, false = none. Default true. */
  virtualEdges?: boolean | number;
  /** Layer norm of the node embeddings after the GNN (GHN-2). Default true. */
  layernorm?: boolean;
  /** Normalise predicted parameters (GHN-2's fan-in scheme, see decode.ts). Default true. */
  weightNorm?: boolean;
  /** Graph traversals (forward + backward sweep) of the GatedGNN. Default 1. */
  steps?: number;
  /** Seed of the initial weights (PyTorch's default initialisers). Default 0. */
  seed?: number;
}

export type ResolvedGhn2Config = Required<Omit<Ghn2Config, 'virtualEdges'>> & { sMax: number };

/** The parameters predicted for one graph, by the target's ParamSpec names, in the target's layout. */
export interface Prediction {
  readonly weights: Weights;
  /** ParamSpec names that were not predicted (unsupported layers): keep their own init. */
  readonly missing: readonly string[];
}

type Init = { kind: 'uniform'; bound: number } | { kind: 'normal' } | { kind: 'ones' } | { kind: 'zeros' };

/**
 * GHN-2 (Knyazev, Drozdzal, Taylor & Romero-Soriano, "Parameter Prediction for Unseen Deep
 * Architectures", NeurIPS 2021; facebookresearch/ppuda): node embeddings from the op type and
 * the tensor shape, a GatedGNN with a forward and a backward sweep (GRU updates, MLP messages,
 * virtual-edge messages scaled by 1/d), layer norm, and decoders that predict every parameter
 * of the graph's network in one pass, tiled to its shape and normalised.
 *
 * Variables carry ppuda's state_dict names and PyTorch shapes (`gnn.gru.weight_ih`,
 * `decoder.conv.2.weight`, …), so ppuda checkpoints converted to safetensors load as they are
 * (see io.ts). Unlike ppuda's node-by-node loop, the sweeps update one topological level at a
 * time (batch.ts) with the same result.
 */
export class GHN2 extends VariableOwner {
  readonly config: ResolvedGhn2Config;
  readonly params: readonly ParamSpec[];
  readonly vocab: ShapeVocab;

  constructor(config: Ghn2Config = {}) {
    super();
    const hid = config.hid ?? 32;
    if (!Number.isInteger(hid) || hid < 4 || hid % 4 !== 0)
      throw new ConfigError(
        'hid',
        `must be a positive multiple of 4 (the shape encoder uses hid/4 per dimension), got ${config.hid}`,
      );
    const maxShape = config.maxShape ?? [64, 64, 11, 11];
    if (maxShape.length !== 4 || maxShape.some((d) => !Number.isInteger(d) || d < 1) || maxShape[2] !== maxShape[3])
      throw new ConfigError('maxShape', `must be [out, in, k, k] of positive integers, got [${maxShape.join(', ')}]`);
    const numClasses = config.numClasses ?? 10;
    if (!Number.isInteger(numClasses) || numClasses < 1)
      throw new ConfigError('numClasses', `must be a positive integer, got ${config.numClasses}`);
    const ve = config.virtualEdges ?? true;
    const sMax = ve === true ? 50 : ve === false ? 1 : ve;
    if (!Number.isInteger(sMax) || sMax < 1)
      throw new ConfigError('virtualEdges', `must be a boolean or an integer ≥ 1, got ${String(ve)}`);
    const steps = config.steps ?? 1;
    if (!Number.isInteger(steps) || steps < 1)
      throw new ConfigError('steps', `must be a positive integer, got ${config.steps}`);
    this.config = {
      hid,
      maxShape,
      numClasses,
      sMax,
      layernorm: config.layernorm ?? true,
      weightNorm: config.weightNorm ?? true,
      steps,
      seed: config.seed ?? 0,
    };
    this.vocab = shapeVocab(numClasses, maxShape[3]);

    const specs: [string, number[], Init][] = [];
    const linear = (name: string, inF: number, outF: number, conv = false) => {
      const bound = 1 / Math.sqrt(inF); // PyTorch's Linear/Conv2d default (kaiming_uniform with a = √5)
      specs.push([`${name}.weight`, conv ? [outF, inF, 1, 1] : [outF, inF], { kind: 'uniform', bound }]);
      specs.push([`${name}.bias`, [outF], { kind: 'uniform', bound }]);
    };
    const mlp = (name: string, sizes: number[]) =>
      sizes.slice(1).forEach((s, j) => linear(`${name}.fc.${2 * j}`, sizes[j]!, s));
    if (this.config.layernorm)
      specs.push(['ln.weight', [hid], { kind: 'ones' }], ['ln.bias', [hid], { kind: 'zeros' }]);
    specs.push(['embed.weight', [PRIMITIVES.length, hid], { kind: 'normal' }]);
    specs.push(['shape_enc.embed_spatial.weight', [this.vocab.spatial.length + 1, hid / 4], { kind: 'normal' }]);
    specs.push(['shape_enc.embed_channel.weight', [this.vocab.channels.length + 1, hid / 4], { kind: 'normal' }]);
    const ved = sMax > 1;
    mlp('gnn.mlp', [hid, ved ? hid / 2 : hid, hid]);
    if (ved) mlp('gnn.mlp_ve', [hid, hid / 2, hid]);
    const gb = 1 / Math.sqrt(hid);
    for (const n of ['weight_ih', 'weight_hh'])
      specs.push([`gnn.gru.${n}`, [3 * hid, hid], { kind: 'uniform', bound: gb }]);
    for (const n of ['bias_ih', 'bias_hh']) specs.push([`gnn.gru.${n}`, [3 * hid], { kind: 'uniform', bound: gb }]);
    const [o, i, k] = maxShape;
    const dh = [hid * 4, hid * 8];
    linear('decoder.fc.0', hid, dh[0]! * k * k);
    linear('decoder.conv.0', dh[0]!, dh[1]!, true);
    linear('decoder.conv.2', dh[1]!, o * i, true);
    linear('decoder.class_layer_predictor.1', o, numClasses, true);
    const maxCh = Math.max(o, i);
    mlp('decoder_1d', [hid, hid * 2, 2 * maxCh]);
    linear('bias_class.1', maxCh, numClasses);

    const rng = new Rng(this.config.seed);
    this.params = specs.map(([name, shape], j) =>
      paramSpec({
        name,
        shape,
        kind: name.endsWith('bias')
          ? 'bias'
          : shape.length === 1
            ? 'norm-scale'
            : name.includes('embed')
              ? 'embedding'
              : 'weight',
        layer: j,
        fanIn: shape[1] ?? shape[0]!,
        fanOut: shape[0]!,
      }),
    );
    for (const [name, shape, init] of specs) {
      const t =
        init.kind === 'uniform'
          ? rng.uniformTensor(shape, -init.bound, init.bound)
          : init.kind === 'normal'
            ? rng.normal(shape)
            : init.kind === 'ones'
              ? tf.ones(shape)
              : tf.zeros(shape);
      this.vars[name] = tf.variable(t, true);
      t.dispose();
    }
  }

  protected w(name: string): tf.Tensor {
    const v = this.vars[name];
    // invariant: the constructor makes every variable the forward pass asks for (a bug here, not bad input).
    if (!v) throw new Error(`GHN2: no variable '${name}'`);
    return v;
  }

  protected linear(x: tf.Tensor, name: string): tf.Tensor {
    const W = this.w(`${name}.weight`);
    const W2 = W.rank === 2 ? W : tf.reshape(W, [W.shape[0]!, W.shape[1]!]);
    return linearTorch(x, W2, this.w(`${name}.bias`));
  }

  protected mlp(x: tf.Tensor, name: string, layers: number, lastRelu: boolean): tf.Tensor {
    let h = x;
    for (let j = 0; j < layers; j++) {
      h = this.linear(h, `${name}.fc.${2 * j}`);
      if (j < layers - 1 || lastRelu) h = tf.relu(h);
    }
    return h;
  }

  protected gru(m: tf.Tensor, h: tf.Tensor): tf.Tensor {
    const H = this.config.hid;
    const gi = linearTorch(m, this.w('gnn.gru.weight_ih'), this.w('gnn.gru.bias_ih'));
    const gh = linearTorch(h, this.w('gnn.gru.weight_hh'), this.w('gnn.gru.bias_hh'));
    const [ir, iz, inn] = tf.split(gi, [H, H, H], 1);
    const [hr, hz, hn] = tf.split(gh, [H, H, H], 1);
    const r = tf.sigmoid(tf.add(ir!, hr!));
    const z = tf.sigmoid(tf.add(iz!, hz!));
    const n = tf.tanh(tf.add(inn!, tf.mul(r, hn!)));
    return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
  }

  /** Initial node embeddings: op-type embedding + [channel(out), channel(in), spatial(h), spatial(w)] embeddings. */
  embedNodes(batch: GraphBatch): tf.Tensor2D {
    return tf.tidy(() => {
      const types = tf.tensor1d(batch.types, 'int32');
      const rows = tf.tensor2d(batch.shapeRows, [batch.numNodes, 4], 'int32');
      const [c0, c1, s0, s1] = tf.unstack(rows, 1);
      const ch = this.w('shape_enc.embed_channel.weight');
      const sp = this.w('shape_enc.embed_spatial.weight');
      const shape = tf.concat([tf.gather(ch, c0!), tf.gather(ch, c1!), tf.gather(sp, s0!), tf.gather(sp, s1!)], 1);
      return tf.add(tf.gather(this.w('embed.weight'), types), shape) as tf.Tensor2D;
    });
  }

  /** GatedGNN (GHN-2 eq. 3-4): `steps` × (forward sweep, backward sweep), one level at a time. */
  propagate(x: tf.Tensor2D, batch: GraphBatch): tf.Tensor2D {
    return tf.tidy(() => {
      const N = batch.numNodes;
      const ve = this.config.sMax > 1;
      let h: tf.Tensor = x;
      const step = (lv: LevelPlan) => {
        const k = lv.nodes.length;
        const nodes = tf.tensor1d(lv.nodes, 'int32');
        let m: tf.Tensor;
        if (lv.senders.length === 0) m = tf.zeros([k, this.config.hid]);
        else {
          const hs = tf.gather(h, tf.tensor1d(lv.senders, 'int32'));
          const S = lv.senders.length;
          m = tf.matMul(tf.tensor2d(lv.direct, [k, S]), this.mlp(hs, 'gnn.mlp', 2, true));
          if (ve) m = tf.add(m, tf.matMul(tf.tensor2d(lv.virtual, [k, S]), this.mlp(hs, 'gnn.mlp_ve', 2, true)));
        }
        const old = tf.gather(h, nodes);
        const upd = this.gru(m, old);
        // write the level's rows back: h + Pᵀ (upd − old), P the [k, N] one-hot rows of the level
        const P = tf.cast(tf.oneHot(nodes, N), 'float32'); // N ≥ 2: a graph has an input and an output
        h = tf.add(h, tf.matMul(P, tf.sub(upd, old), true, false));
      };
      for (let t = 0; t < this.config.steps; t++) for (const sweep of batch.sweeps) for (const lv of sweep) step(lv);
      return h as tf.Tensor2D;
    });
  }

  /** Node embeddings after the GNN and the layer norm (what the decoders read). */
  nodeEmbeddings(batch: GraphBatch): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.propagate(this.embedNodes(batch), batch);
      if (!this.config.layernorm) return h;
      return affine(layerNormalize(h, 1e-5), this.w('ln.weight'), this.w('ln.bias')) as tf.Tensor2D;
    });
  }

  /**
   * GHN-2's conv decoder for a group with key [o, i, kh, kw] (or a classification layer):
   * [n, o', i', h', w'] in PyTorch layout, o' ≤ 64, i' ≤ 64, h', w' ≤ 11 (maxShape), the
   * values ppuda's ConvDecoder gives (it computes only these channels; so do we).
   */
  protected convDecoder(x: tf.Tensor, key: readonly number[], classPred: boolean): tf.Tensor {
    const [O, I, K] = this.config.maxShape;
    const hid0 = this.config.hid * 4;
    const n = x.shape[0]!;
    const kh = Math.min(K, key[2]!);
    const kw = Math.min(K, key[3]!);
    let y = tf.relu(this.linear(x, 'decoder.fc.0')); // [n, hid0·K·K]
    y = tf.reshape(y, [n, hid0, K, K]);
    if (kh < K || kw < K) y = tf.slice(y, [0, 0, 0, 0], [n, hid0, kh, kw]);
    // 1×1 convs = per-pixel linear layers over channels
    y = tf.reshape(tf.transpose(y, [0, 2, 3, 1]), [n * kh * kw, hid0]);
    y = tf.relu(this.linear(y, 'decoder.conv.0'));
    const subset = key[1]! <= Math.floor(I / 2) || (key[0]! < O && !classPred);
    const nOut = subset && !classPred ? Math.min(O, key[0]!) : O;
    const nIn = subset ? Math.min(I, key[1]!) : I;
    let W = tf.reshape(this.w('decoder.conv.2.weight'), [O * I, -1]);
    let b = this.w('decoder.conv.2.bias');
    if (nOut < O || nIn < I) {
      const rows = new Int32Array(nOut * nIn);
      for (let a = 0; a < nOut; a++) for (let c = 0; c < nIn; c++) rows[a * nIn + c] = a * I + c;
      const r = tf.tensor1d(rows, 'int32');
      W = tf.gather(W, r);
      b = tf.gather(b, r);
    }
    let z = linearTorch(y, W, b); // [n·kh·kw, nOut·nIn]
    z = tf.transpose(tf.reshape(z, [n, kh, kw, nOut, nIn]), [0, 3, 4, 1, 2]); // [n, nOut, nIn, kh, kw]
    if (subset && Math.min(key[2]!, key[3]!) > Math.min(kh, kw)) {
      // ppuda's repeat((1, 1, 1, 2, 2)) for kernels > maxShape; concat, as tfjs has no gradient for rank-5 Tile
      z = tf.concat([z, z], 3);
      z = tf.concat([z, z], 4);
    }
    if (!classPred) return z;
    // class layer: relu, then a 1×1 conv over the out dimension → [n, classes, nIn]
    const Wc = tf.reshape(this.w('decoder.class_layer_predictor.1.weight'), [this.config.numClasses, O]);
    const zc = tf.relu(tf.reshape(z, [n, O, nIn])); // kh = kw = 1
    const out = tf.einsum('co,noi->nci', Wc, zc);
    return tf.add(out, tf.reshape(this.w('decoder.class_layer_predictor.1.bias'), [1, -1, 1]));
  }

  /** decoder_1d: [n, 2, max(o, i)] (row 0: weights / norm scales, row 1: biases / shifts); the class bias goes through bias_class. */
  protected decoder1d(x: tf.Tensor, classBias: boolean, _key?: readonly number[]): tf.Tensor {
    const n = x.shape[0]!;
    const d = tf.reshape(this.mlp(x, 'decoder_1d', 2, false), [n, 2, -1]);
    if (!classBias) return d;
    return this.linear(tf.relu(d), 'bias_class.1'); // [n, 2, classes]
  }

  /** The batch of these graphs; the last one is reused when the same graphs come again (a training step predicts twice). */
  private batchOf(list: readonly ArchGraph[]): GraphBatch {
    const last = this.lastBatch;
    if (last && last.graphs.length === list.length && last.graphs.every((g, i) => g === list[i])) return last;
    return (this.lastBatch = batchGraphs(list, this.vocab, this.config.sMax));
  }

  private lastBatch: GraphBatch | null = null;

  /**
   * Predicts the parameters of every graph in one forward pass (batched): ppuda's
   * _map_net_params, one decoder call per group, _tile_params + _normalize (fit), _set_params
   * (ghn2-predict.ts). Call inside tf.grads / variableGrads to train or fine-tune the GHN:
   * nothing is detached.
   */
  predict(graphs: ArchGraph | readonly ArchGraph[]): Prediction[] {
    const list = Array.isArray(graphs) ? (graphs as readonly ArchGraph[]) : [graphs as ArchGraph];
    if (list.length === 0) return [];
    const batch = this.batchOf(list);
    const decoders: GroupDecoders = {
      conv: (x, key, classPred) => this.convDecoder(x, key, classPred),
      oneD: (x, classBias, key) => this.decoder1d(x, classBias, key),
    };
    return tidy(() => {
      const x = this.nodeEmbeddings(batch);
      const groups = mapNetParams(list, batch.offsets, this.config.maxShape);
      const weights: Weights[] = list.map(() => ({}));
      for (const group of groups.values()) {
        const out = decode(x, group, decoders);
        for (const { job, slot } of group.jobs)
          weights[job.graph]![job.spec.name] = this.fit(
            nodeParams(out, slot, job.row),
            job.spec,
            job.isWeight,
            job.depthwise,
            list[job.graph]!.name,
          );
      }
      return setParams(list, weights);
    });
  }

  /**
   * ppuda's _tile_params + _normalize, then the target's layout (ghn2-predict.ts): crop the
   * prediction to the target's shape, normalise, transpose to the target's layout and repeat
   * it along out/in channels where the target is larger. Done in the cheap order (normalise
   * and transpose the small tensor, then tile once).
   */
  protected fit(w: tf.Tensor, spec: ParamSpec, isWeight: boolean, depthwise: boolean, graph: string): tf.Tensor {
    const t = predictedShape(spec, depthwise);
    let small = cropParams(w, t, spec.name, graph);
    if (this.config.weightNorm) small = normalize(small, t, isWeight);
    return tileParams(small, spec, depthwise);
  }
}
