import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, paramSpec, type ParamKind, type ParamSpec, type Weights } from '@hypernets/core';
import { GraphBuilder, type ArchGraph, type BuildOptions } from './graph.js';

/** The parts of a tfjs-layers Layer read here (a `tf.layers.Layer` satisfies it). */
export interface KerasLayerLike {
  readonly name: string;
  getClassName(): string;
  getConfig(): object;
  readonly weights: readonly {
    readonly name: string;
    readonly shape: readonly (number | null)[];
    readonly trainable?: boolean;
  }[];
  getWeights(): tf.Tensor[];
  setWeights(weights: tf.Tensor[]): void;
  readonly inboundNodes?: readonly { readonly inboundLayers: readonly KerasLayerLike[] }[];
}

/** The parts of a tfjs-layers LayersModel read here (Sequential or functional). */
export interface KerasModelLike extends KerasLayerLike {
  readonly layers: readonly KerasLayerLike[];
}

const MODELS = new Set(['Sequential', 'Model', 'Functional']);
/** Layers that are not nodes of GHN-2's graphs (activations, reshapes, regularisers): their output is their input's node. */
const PASS_THROUGH = new Set([
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
  'Dropout',
  'SpatialDropout1D',
  'GaussianNoise',
  'Flatten',
  'Reshape',
  'Permute',
  'ZeroPadding2D',
  'Cropping2D',
  'UpSampling2D',
  'Masking',
]);

/** The short name of a layer weight ('kernel', 'bias', 'gamma', …) from its variable name. */
function shortName(v: string): string {
  const base = v.slice(v.lastIndexOf('/') + 1);
  return base.replace(/_\d+$/, '');
}

const KIND: Record<string, ParamKind> = {
  kernel: 'weight',
  depthwise_kernel: 'weight',
  pointwise_kernel: 'weight',
  recurrent_kernel: 'recurrent-weight',
  bias: 'bias',
  gamma: 'norm-scale',
  beta: 'norm-shift',
  embeddings: 'embedding',
};

function flatten(model: KerasModelLike): KerasLayerLike[] {
  return model.layers.flatMap((l) =>
    MODELS.has(l.getClassName()) ? flatten(l as KerasModelLike).filter((x) => x.getClassName() !== 'InputLayer') : [l],
  );
}

/**
 * ParamSpecs of a LayersModel's trainable weights, named `${layer}.${weight}` as @hypernets/nets's
 * hypernetize names them (`dense_1.kernel`, `bn.gamma`, …), in layer order. Moving statistics
 * (batch norm) are state, not parameters.
 */
export function layersModelParams(model: KerasModelLike): ParamSpec[] {
  const specs: ParamSpec[] = [];
  flatten(model).forEach((layer, li) => {
    for (const w of layer.weights) {
      const s = shortName(w.name);
      if (s.startsWith('moving_') || w.trainable === false) continue;
      const shape = w.shape.map((d) => d ?? -1);
      if (shape.some((d) => d < 0))
        throw new ConfigError(
          'model',
          `weight '${w.name}' of layer '${layer.name}' has an unknown dimension: build the model first`,
        );
      const fanIn = shape.length >= 2 ? shape.slice(0, -1).reduce((a, b) => a * b, 1) : shape[0]!;
      specs.push(
        paramSpec({
          name: `${layer.name}.${s}`,
          shape,
          kind: KIND[s] ?? 'other',
          layer: li,
          fanIn,
          fanOut: shape[shape.length - 1]!,
        }),
      );
    }
  });
  return specs;
}

/**
 * The GHN-2 graph of a tfjs-layers model (Sequential or functional, branches and merges
 * allowed): Dense/Conv2D → conv (+ bias), DepthwiseConv2D → sep_conv (dil_conv when dilated),
 * SeparableConv2D → depthwise + pointwise conv, BatchNormalization → bn, LayerNormalization →
 * ln, pools → max_pool/avg_pool, global pools → glob_avg, Add → sum, Concatenate → concat,
 * Multiply → cse; activations, dropout and reshapes are not nodes. Other layers with weights
 * (Embedding, LSTM, …) pass their input through and their weights are listed in `unsupported`
 * (they keep the model's values): the warning names them.
 */
export function layersModelGraph(model: KerasModelLike, options: BuildOptions = {}): ArchGraph {
  const params = layersModelParams(model);
  const has = new Set(params.map((p) => p.name));
  const g = new GraphBuilder(model.name, params);
  const nodeOf = new Map<KerasLayerLike, number>();
  const layers = flatten(model);
  const functional = model.getClassName() !== 'Sequential';
  let input = -1;
  let prev = -1;
  for (const layer of layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Record<string, unknown>;
    if (cls === 'InputLayer') {
      if (input < 0) input = g.input();
      nodeOf.set(layer, input);
      prev = input;
      continue;
    }
    if (input < 0) input = prev = g.input();
    let ins: number[];
    if (functional) {
      const inbound = layer.inboundNodes?.[0]?.inboundLayers ?? [];
      ins = inbound.map((l) => {
        const n = nodeOf.get(l) ?? nodeOf.get(lastLayer(l));
        if (n === undefined)
          throw new ConfigError('model', `layer '${layer.name}' takes '${l.name}', which has no graph node yet`);
        return n;
      });
      if (ins.length === 0) ins = [input];
    } else ins = [prev];
    const p = (w: string) => (has.has(`${layer.name}.${w}`) ? `${layer.name}.${w}` : null);
    let out: number;
    switch (cls) {
      case 'Dense':
      case 'Conv2D':
        out = g.layer('conv', p('kernel')!, ins, p('bias'));
        break;
      case 'DepthwiseConv2D': {
        const dil = [cfg.dilationRate ?? 1].flat() as number[];
        out = g.layer(dil.some((d) => d > 1) ? 'dil_conv' : 'sep_conv', p('depthwise_kernel')!, ins, p('bias'), {
          depthwise: true,
        });
        break;
      }
      case 'SeparableConv2D': {
        const dil = [cfg.dilationRate ?? 1].flat() as number[];
        const dw = g.layer(dil.some((d) => d > 1) ? 'dil_conv' : 'sep_conv', p('depthwise_kernel')!, ins, null, {
          depthwise: true,
        });
        out = g.layer('conv', p('pointwise_kernel')!, [dw], p('bias'));
        break;
      }
      case 'BatchNormalization':
      case 'LayerNormalization':
        out = p('gamma') ? g.norm(cls === 'BatchNormalization' ? 'bn' : 'ln', p('gamma')!, p('beta'), ins) : ins[0]!;
        if (!p('gamma') && p('beta')) g.unsupported(p('beta')!, `${layer.name} (${cls} without scale)`);
        break;
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const size = [cfg.poolSize ?? 2].flat() as number[];
        out = g.op(cls === 'MaxPooling2D' ? 'max_pool' : 'avg_pool', ins, size[0]);
        break;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D':
      case 'GlobalAveragePooling1D':
        out = g.op('glob_avg', ins);
        break;
      case 'Add':
        out = g.op('sum', ins);
        break;
      case 'Concatenate':
        out = g.op('concat', ins);
        break;
      case 'Multiply':
        out = g.op('cse', ins);
        break;
      default: {
        const own = params.filter((s) => s.name.startsWith(`${layer.name}.`)).map((s) => s.name);
        if (own.length > 0) g.unsupported(own, `${layer.name} (${cls})`);
        else if (!PASS_THROUGH.has(cls) && ins.length > 1)
          throw new ConfigError(
            'model',
            `layer '${layer.name}' (${cls}) merges ${ins.length} inputs and has no GHN-2 primitive`,
          );
        out = ins[0]!;
      }
    }
    nodeOf.set(layer, out);
    prev = out;
  }
  return g.build(options);
}

function lastLayer(l: KerasLayerLike): KerasLayerLike {
  return MODELS.has(l.getClassName())
    ? lastLayer((l as KerasModelLike).layers[(l as KerasModelLike).layers.length - 1]!)
    : l;
}

/** Writes predicted weights (by `${layer}.${weight}` name) into the model's layers; weights not given keep their values. */
export function setLayersModelWeights(model: KerasModelLike, weights: Weights): void {
  // validate every tensor first, then assign: nothing changes if one is wrong
  const plans: [KerasLayerLike, tf.Tensor[]][] = [];
  for (const layer of flatten(model)) {
    if (layer.weights.length === 0) continue;
    const current = layer.getWeights();
    let changed = false;
    const next = layer.weights.map((w, i) => {
      const t = weights[`${layer.name}.${shortName(w.name)}`];
      if (t === undefined) return current[i]!;
      if (t.shape.join() !== current[i]!.shape.join())
        throw new ConfigError(
          `weights.${layer.name}.${shortName(w.name)}`,
          `shape [${t.shape.join(', ')}], the layer needs [${current[i]!.shape.join(', ')}]`,
        );
      changed = true;
      return t;
    });
    if (changed) plans.push([layer, next]); // (getWeights hands out the variables themselves: nothing to dispose)
  }
  for (const [layer, ws] of plans) layer.setWeights(ws);
}
