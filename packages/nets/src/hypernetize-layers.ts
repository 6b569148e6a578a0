import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  NetState,
  ShapeMismatchError,
  affine,
  batchNorm,
  checkWeights,
  conv2d,
  dilateKernel,
  embeddingLookup,
  gelu,
  geluTanh,
  layerNormalize,
  linear,
  lstmLayer,
  paramSpec,
  type ForwardOptions,
  type ParamKind,
  type ParamSpec,
  type StateSpec,
  type TargetNet,
  type Weights,
} from '@hypernets/core';

/**
 * A tfjs-layers LayersModel (Sequential or a linear-chain functional model) as a TargetNet:
 * each supported layer re-implemented with core's functional ops, so its weights can come
 * from outside — shared, or per-sample with a leading batch dimension (which tfjs layers
 * cannot do). tfjs-layers is never imported: layers are read through `getClassName()`,
 * `getConfig()`, `weights` and `getWeights()` (duck typing), so it stays a dev dependency.
 */

/** The part of a tfjs-layers `LayerVariable` read here. */
export interface LayerVariableLike {
  readonly name: string;
  readonly originalName?: string;
  readonly shape: readonly (number | null)[];
}

/** The part of a tfjs-layers `Layer` read here (a `tf.layers.Layer` satisfies it). */
export interface LayerLike {
  readonly name: string;
  getClassName(): string;
  getConfig(): object;
  readonly weights: readonly LayerVariableLike[];
  getWeights(): tf.Tensor[];
  apply(inputs: tf.Tensor, kwargs?: Record<string, unknown>): unknown;
  readonly inboundNodes?: readonly { readonly inboundLayers: readonly LayerLike[] }[];
}

/** The part of a tfjs-layers `LayersModel` read here (Sequential or functional). */
export interface LayersModelLike extends LayerLike {
  readonly layers: readonly LayerLike[];
  readonly inputs: readonly { readonly shape: readonly (number | null)[] }[];
  readonly outputs: readonly { readonly shape: readonly (number | null)[] }[];
}

const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

export function isLayersModel(m: unknown): m is LayersModelLike {
  const o = m as Partial<LayersModelLike> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.getClassName === 'function' &&
    MODEL_CLASSES.has(o.getClassName()) &&
    Array.isArray(o.layers)
  );
}

/** Layer classes re-implemented functionally (their weights can be generated). */
export const SUPPORTED_LAYER_CLASSES: readonly string[] = Object.freeze([
  'Dense',
  'Conv2D',
  'LSTM',
  'BatchNormalization',
  'LayerNormalization',
  'Embedding',
  'Flatten',
  'Activation',
  'Dropout',
  'Reshape',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'InputLayer',
]);

const unsupportedLayerMarker = 'hypernets.error.UnsupportedLayerError';
const unsupportedLayerSymbol = Symbol.for(unsupportedLayerMarker);

/**
 * A layer (or a layer configuration) that hypernetize cannot re-implement. With
 * `unsupported: 'fixed'` such a layer is kept, with its own weights, and run through
 * `layer.apply(x)`.
 */
export class UnsupportedLayerError extends ConfigError {
  private readonly [unsupportedLayerSymbol] = true;
  override readonly name: string = 'UnsupportedLayerError';

  /** True for an UnsupportedLayerError from any copy of @hypernets/nets (`instanceof` is not, across copies). */
  static override isInstance(error: unknown): error is UnsupportedLayerError {
    return ConfigError.hasMarker(error, unsupportedLayerMarker);
  }

  constructor(
    readonly layerName: string,
    readonly className: string,
    reason: string,
  ) {
    super(
      `layers['${layerName}']`,
      `layer '${layerName}' (${className}) ${reason}. Supported layer classes: ${SUPPORTED_LAYER_CLASSES.join(', ')}; ` +
        `pass { unsupported: 'fixed' } to keep this layer with its own weights (run through layer.apply, not generatable)`,
    );
  }
}

/** How one layer runs in the functional net. */
interface LayerOp {
  readonly layerName: string;
  readonly className: string;
  /** Generatable weights of this layer, `${layerName}.${weightName}`. */
  readonly specs: readonly ParamSpec[];
  readonly stateSpecs: readonly StateSpec[];
  /** Weights (cloned, by spec name or state name) that the model holds now. */
  readonly values: Weights;
  /** Kept as is (unsupported: 'fixed'): its weights live in the tfjs layer. */
  readonly external: boolean;
  run(x: tf.Tensor, weights: Weights, ctx: RunContext): tf.Tensor;
}

interface RunContext {
  readonly options: ForwardOptions;
  readonly state: NetState | undefined;
  readonly condition: string | number;
}

type Config = Record<string, unknown>;

// ----- activations (Keras names) -----

type ActFn = (x: tf.Tensor) => tf.Tensor;

const KERAS_ACTIVATIONS: Record<string, ActFn> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  sigmoid: (x) => tf.sigmoid(x),
  hardSigmoid: (x) => tf.clipByValue(tf.add(0.5, tf.mul(0.2, x)), 0, 1),
  softplus: (x) => tf.softplus(x),
  softsign: (x) => tf.div(x, tf.add(1, tf.abs(x))),
  tanh: (x) => tf.tanh(x),
  softmax: (x) => tf.softmax(x, -1),
  logSoftmax: (x) => tf.logSoftmax(x, -1),
  gelu: (x) => gelu(x),
  gelu_new: (x) => geluTanh(x),
  mish: (x) => tf.mul(x, tf.tanh(tf.softplus(x))),
  swish: (x) => tf.mul(tf.sigmoid(x), x),
};

/** Keras activation names as the fan-based inits of core know them. */
const INIT_ACTIVATION: Record<string, string> = { relu6: 'relu', swish: 'silu', gelu_new: 'gelu-tanh' };

function activationOf(layer: LayerLike, value: unknown, field = 'activation'): { name: string; fn: ActFn } {
  const name = value === undefined || value === null ? 'linear' : value;
  if (typeof name !== 'string' || !(name in KERAS_ACTIVATIONS))
    throw new UnsupportedLayerError(
      layer.name,
      layer.getClassName(),
      `uses ${field} ${JSON.stringify(name)}, which has no functional re-implementation (known: ${Object.keys(KERAS_ACTIVATIONS).join(', ')})`,
    );
  return { name, fn: KERAS_ACTIVATIONS[name]! };
}

// ----- helpers -----

function pair(v: unknown, what: string, layer: LayerLike): [number, number] {
  const p = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? v : null;
  if (!p || !p.every((d) => Number.isInteger(d) && d > 0))
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), `has ${what} ${JSON.stringify(v)} (expected a positive integer or a pair)`);
  return [p[0] as number, p[1] as number];
}

function tailName(v: LayerVariableLike): string {
  const n = v.originalName ?? v.name;
  return n.slice(n.lastIndexOf('/') + 1);
}

/** The layer's weights by their own name (`kernel`, `bias`, `gamma`, …), cloned (a snapshot). */
function layerWeights(layer: LayerLike): Record<string, tf.Tensor> {
  const vars = layer.weights;
  const values = layer.getWeights();
  const out: Record<string, tf.Tensor> = {};
  vars.forEach((v, i) => {
    out[tailName(v)] = tf.clone(values[i]!);
  });
  return out;
}

function requireWeight(layer: LayerLike, ws: Record<string, tf.Tensor>, name: string): tf.Tensor {
  const w = ws[name];
  if (!w)
    throw new ConfigError(
      `layers['${layer.name}']`,
      `layer '${layer.name}' (${layer.getClassName()}) has no weight '${name}' (found: ${Object.keys(ws).join(', ') || 'none'}); ` +
        'build the model (give the first layer an inputShape, or call model.build) before hypernetize',
    );
  return w;
}

function rankOfSpec(w: tf.Tensor, spec: ParamSpec): boolean {
  return w.rank === spec.shape.length + 1;
}

/**
 * One layer's weights laid out alike: when any is per-sample ([B, ...]), the shared ones are
 * broadcast to [B, ...] (broadcastTo has a summing gradient); else all stay shared.
 */
function alignLayer(specs: readonly ParamSpec[], weights: Weights): { ts: tf.Tensor[]; batch: number | null } {
  const ts = specs.map((s) => weights[s.name]!);
  const i = ts.findIndex((t, k) => rankOfSpec(t, specs[k]!));
  if (i < 0) return { ts, batch: null };
  const b = ts[i]!.shape[0]!;
  return {
    ts: ts.map((t, k) => (rankOfSpec(t, specs[k]!) ? t : tf.broadcastTo(tf.expandDims(t, 0), [b, ...specs[k]!.shape]))),
    batch: b,
  };
}

/** A constant per-channel vector, shared [C] or per-sample [B, C]. */
function constant(value: number, c: number, batch: number | null): tf.Tensor {
  return tf.fill(batch === null ? [c] : [batch, c], value);
}

function spec(layerName: string, weight: string, shape: readonly number[], kind: ParamKind, layer: number, fanIn: number, fanOut: number, activation?: string): ParamSpec {
  return paramSpec({ name: `${layerName}.${weight}`, shape, kind, layer, fanIn, fanOut, ...(activation ? { activation } : {}) });
}

function needRng(options: ForwardOptions, layer: string, rate: number) {
  if (!options.rng)
    throw new ConfigError('options.rng', `layer '${layer}' (Dropout, rate ${rate}) runs in training mode: pass options.rng (new Rng(seed)) for the masks`);
  return options.rng;
}

/** The input rank a built layer saw (with batch), or null when tfjs does not know it. */
function inputRank(layer: LayerLike): number | null {
  const node = layer.inboundNodes?.[0] as { inputShapes?: unknown } | undefined;
  const shapes = node?.inputShapes;
  const first = Array.isArray(shapes) ? (Array.isArray(shapes[0]) ? shapes[0] : shapes) : null;
  return first ? first.length : null;
}

// ----- layer converters -----

interface ConvertContext {
  /** Index of the next layer that carries ParamSpecs. */
  layerIndex: number;
  /** Activation of the layer that follows (an Activation layer), for the spec's init hint. */
  nextActivation: string | null;
}

function initActivation(name: string, next: string | null): string {
  const n = name === 'linear' && next ? next : name;
  return INIT_ACTIVATION[n] ?? n;
}

function weightless(layer: LayerLike, run: (x: tf.Tensor, ctx: RunContext) => tf.Tensor): LayerOp {
  return { layerName: layer.name, className: layer.getClassName(), specs: [], stateSpecs: [], values: {}, external: false, run: (x, _w, ctx) => run(x, ctx) };
}

function convertLayer(layer: LayerLike, cc: ConvertContext): LayerOp {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Config;
  const name = layer.name;
  const unsupported = (why: string) => new UnsupportedLayerError(name, cls, why);
  const channelsLast = () => {
    if (cfg.dataFormat !== undefined && cfg.dataFormat !== null && cfg.dataFormat !== 'channelsLast')
      throw unsupported(`has dataFormat '${String(cfg.dataFormat)}' (only 'channelsLast', NHWC, is re-implemented)`);
  };
  switch (cls) {
    case 'InputLayer':
      return weightless(layer, (x) => x);
    case 'Flatten':
      channelsLast();
      return weightless(layer, (x) => tf.reshape(x, [x.shape[0]!, -1]));
    case 'Reshape': {
      const target = cfg.targetShape as (number | null)[];
      return weightless(layer, (x) => tf.reshape(x, [x.shape[0]!, ...target.map((d) => (d === null ? -1 : d))]));
    }
    case 'Activation': {
      const act = activationOf(layer, cfg.activation);
      return weightless(layer, (x) => act.fn(x));
    }
    case 'Dropout': {
      const rate = Number(cfg.rate ?? 0);
      if (cfg.noiseShape !== undefined && cfg.noiseShape !== null) throw unsupported('has a noiseShape (only plain dropout is re-implemented)');
      return weightless(layer, (x, ctx) =>
        ctx.options.training && rate > 0 ? tf.mul(x, needRng(ctx.options, name, rate).dropoutMask([...x.shape], rate)) : x,
      );
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      channelsLast();
      const size = pair(cfg.poolSize ?? 2, 'poolSize', layer);
      const strides = cfg.strides === undefined || cfg.strides === null ? size : pair(cfg.strides, 'strides', layer);
      const padding = (cfg.padding ?? 'valid') as 'valid' | 'same';
      if (padding !== 'valid' && padding !== 'same') throw unsupported(`has padding '${String(padding)}'`);
      return weightless(layer, (x) =>
        cls === 'MaxPooling2D' ? tf.maxPool(x as tf.Tensor4D, size, strides, padding) : tf.avgPool(x as tf.Tensor4D, size, strides, padding),
      );
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      channelsLast();
      return weightless(layer, (x) => (cls === 'GlobalMaxPooling2D' ? tf.max(x, [1, 2]) : tf.mean(x, [1, 2])));
    case 'Dense':
      return convertDense(layer, cfg, cc);
    case 'Conv2D':
      channelsLast();
      return convertConv2D(layer, cfg, cc);
    case 'LSTM':
      return convertLSTM(layer, cfg, cc);
    case 'BatchNormalization':
      return convertBatchNorm(layer, cfg, cc);
    case 'LayerNormalization':
      return convertLayerNorm(layer, cfg, cc);
    case 'Embedding':
      return convertEmbedding(layer, cc);
    default:
      throw unsupported('is not supported');
  }
}

/** Specs (in the order given) and cloned values for a layer's weights. */
function withValues(layer: LayerLike, ws: Record<string, tf.Tensor>, specs: [string, ParamSpec][]): { specs: ParamSpec[]; values: Weights } {
  const values: Weights = {};
  for (const [w, s] of specs) values[s.name] = ws[w]!;
  // Weights the layer has that no spec took (none for the supported classes) are dropped.
  for (const [k, t] of Object.entries(ws)) if (!specs.some(([w]) => w === k) && !k.startsWith('moving_')) t.dispose();
  return { specs: specs.map(([, s]) => s), values };
}

function convertDense(layer: LayerLike, cfg: Config, cc: ConvertContext): LayerOp {
  const act = activationOf(layer, cfg.activation);
  const ws = layerWeights(layer);
  const kernel = requireWeight(layer, ws, 'kernel');
  const [inSize, units] = kernel.shape as [number, number];
  const a = initActivation(act.name, cc.nextActivation);
  const l = cc.layerIndex++;
  const entries: [string, ParamSpec][] = [['kernel', spec(layer.name, 'kernel', [inSize, units], 'weight', l, inSize, units, a)]];
  if (cfg.useBias !== false) {
    requireWeight(layer, ws, 'bias');
    entries.push(['bias', spec(layer.name, 'bias', [units], 'bias', l, inSize, units, a)]);
  }
  const { specs, values } = withValues(layer, ws, entries);
  return {
    layerName: layer.name,
    className: 'Dense',
    specs,
    stateSpecs: [],
    values,
    external: false,
    run: (x, weights) => {
      const { ts } = alignLayer(specs, weights);
      return act.fn(linear(x, ts[0]!, ts[1]));
    },
  };
}

function convertConv2D(layer: LayerLike, cfg: Config, cc: ConvertContext): LayerOp {
  const act = activationOf(layer, cfg.activation);
  const strides = pair(cfg.strides ?? 1, 'strides', layer);
  const dilation = pair(cfg.dilationRate ?? 1, 'dilationRate', layer);
  const padding = cfg.padding ?? 'valid';
  if (padding !== 'valid' && padding !== 'same')
    throw new UnsupportedLayerError(layer.name, 'Conv2D', `has padding '${String(padding)}' (only 'valid' and 'same' are re-implemented)`);
  const ws = layerWeights(layer);
  const kernel = requireWeight(layer, ws, 'kernel');
  const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
  const a = initActivation(act.name, cc.nextActivation);
  const l = cc.layerIndex++;
  const fanIn = kh * kw * cin;
  const fanOut = kh * kw * cout;
  const entries: [string, ParamSpec][] = [['kernel', spec(layer.name, 'kernel', [kh, kw, cin, cout], 'weight', l, fanIn, fanOut, a)]];
  if (cfg.useBias !== false) {
    requireWeight(layer, ws, 'bias');
    entries.push(['bias', spec(layer.name, 'bias', [cout], 'bias', l, fanIn, fanOut, a)]);
  }
  const { specs, values } = withValues(layer, ws, entries);
  const dilated = dilation[0] > 1 || dilation[1] > 1;
  return {
    layerName: layer.name,
    className: 'Conv2D',
    specs,
    stateSpecs: [],
    values,
    external: false,
    run: (x, weights) => {
      const { ts } = alignLayer(specs, weights);
      const k = dilated ? dilateKernel(ts[0]!, dilation) : ts[0]!;
      return act.fn(conv2d(x, k, ts[1], { stride: strides, padding: padding as 'valid' | 'same' }));
    },
  };
}

function convertLSTM(layer: LayerLike, cfg: Config, cc: ConvertContext): LayerOp {
  const unsupported = (why: string) => new UnsupportedLayerError(layer.name, 'LSTM', why);
  if (cfg.stateful) throw unsupported('is stateful (state carried across calls is not re-implemented)');
  if (cfg.returnState) throw unsupported('has returnState: true (one output per layer is re-implemented)');
  const act = activationOf(layer, cfg.activation ?? 'tanh');
  const rec = activationOf(layer, cfg.recurrentActivation ?? 'hardSigmoid', 'recurrentActivation');
  const dropoutRate = Number(cfg.dropout ?? 0) + Number(cfg.recurrentDropout ?? 0);
  const returnSequences = cfg.returnSequences === true;
  const goBackwards = cfg.goBackwards === true;
  const ws = layerWeights(layer);
  const kernel = requireWeight(layer, ws, 'kernel');
  requireWeight(layer, ws, 'recurrent_kernel');
  const [inSize, g] = kernel.shape as [number, number];
  const h = g / 4;
  const l = cc.layerIndex++;
  // Keras packs the gates as [i, f, c, o] along the last axis, the layout (and order) of
  // core's LSTM (i, f, g, o): no conversion.
  const entries: [string, ParamSpec][] = [
    ['kernel', spec(layer.name, 'kernel', [inSize, g], 'weight', l, inSize, g, act.name)],
    ['recurrent_kernel', spec(layer.name, 'recurrent_kernel', [h, g], 'recurrent-weight', l, h, g, act.name)],
  ];
  if (cfg.useBias !== false) {
    requireWeight(layer, ws, 'bias');
    entries.push(['bias', spec(layer.name, 'bias', [g], 'bias', l, inSize, g, act.name)]);
  }
  const { specs, values } = withValues(layer, ws, entries);
  return {
    layerName: layer.name,
    className: 'LSTM',
    specs,
    stateSpecs: [],
    values,
    external: false,
    run: (x, weights, ctx) => {
      if (ctx.options.training && dropoutRate > 0)
        throw new ConfigError(
          `layers['${layer.name}']`,
          `LSTM '${layer.name}' has dropout/recurrentDropout, which is not re-implemented in training mode; set them to 0 or run with training: false`,
        );
      if (x.rank !== 3 || x.shape[2] !== inSize)
        throw new ShapeMismatchError(`input of LSTM '${layer.name}'`, [x.shape[0] ?? -1, -1, inSize], x.shape, `pass [N, T, ${inSize}]`);
      const { ts } = alignLayer(specs, weights);
      const [wIh, wHh, b] = ts as [tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      const seq = goBackwards ? tf.reverse(x, 1) : x;
      // core's LSTM layer with the Keras layer's own activations.
      const hs = lstmLayer(seq, wIh, wHh, b, { gate: rec.fn, cell: act.fn });
      return returnSequences ? tf.stack(hs, 1) : hs[hs.length - 1]!;
    },
  };
}

function lastAxisOnly(layer: LayerLike, axis: unknown): void {
  const axes = typeof axis === 'number' ? [axis] : Array.isArray(axis) ? axis : [-1];
  const rank = inputRank(layer);
  const ok = axes.length === 1 && (axes[0] === -1 || (rank !== null && axes[0] === rank - 1));
  if (!ok)
    throw new UnsupportedLayerError(
      layer.name,
      layer.getClassName(),
      `normalises over axis ${JSON.stringify(axis)} (only the last axis, -1, is re-implemented)`,
    );
}

function convertBatchNorm(layer: LayerLike, cfg: Config, cc: ConvertContext): LayerOp {
  lastAxisOnly(layer, cfg.axis ?? -1);
  const ws = layerWeights(layer);
  const mean = requireWeight(layer, ws, 'moving_mean');
  const variance = requireWeight(layer, ws, 'moving_variance');
  const c = mean.shape[0]!;
  const scale = cfg.scale !== false;
  const center = cfg.center !== false;
  const l = scale || center ? cc.layerIndex++ : cc.layerIndex;
  const entries: [string, ParamSpec][] = [];
  if (scale) entries.push(['gamma', spec(layer.name, 'gamma', [c], 'norm-scale', l, c, c)]);
  if (center) entries.push(['beta', spec(layer.name, 'beta', [c], 'norm-shift', l, c, c)]);
  for (const w of entries) requireWeight(layer, ws, w[0]);
  const { specs, values } = withValues(layer, ws, entries);
  const meanName = `${layer.name}.moving_mean`;
  const varName = `${layer.name}.moving_variance`;
  values[meanName] = mean;
  values[varName] = variance;
  const eps = Number(cfg.epsilon ?? 1e-3);
  // Keras: moving ← momentum·moving + (1 − momentum)·batch; core's momentum weighs the batch.
  // Inference matches the layer exactly; training normalises like it (biased batch variance)
  // but moves the running variance with the unbiased one (core's, PyTorch's convention).
  const momentum = 1 - Number(cfg.momentum ?? 0.99);
  const gammaSpec = specs.find((s) => s.name.endsWith('.gamma'));
  const betaSpec = specs.find((s) => s.name.endsWith('.beta'));
  return {
    layerName: layer.name,
    className: 'BatchNormalization',
    specs,
    stateSpecs: [
      { name: meanName, shape: [c], init: 'zeros' },
      { name: varName, shape: [c], init: 'ones' },
    ],
    values,
    external: false,
    run: (x, weights, ctx) => {
      if (!ctx.state) throw new ConfigError('options.state', `BatchNormalization '${layer.name}' needs a NetState for its moving statistics`);
      const { ts, batch } = alignLayer(specs, weights);
      const gamma = gammaSpec ? ts[specs.indexOf(gammaSpec)]! : constant(1, c, batch);
      const beta = betaSpec ? ts[specs.indexOf(betaSpec)]! : constant(0, c, batch);
      return batchNorm(x, gamma, beta, {
        training: ctx.options.training === true,
        perSample: batch !== null,
        runningMean: ctx.state.get(ctx.condition, meanName),
        runningVar: ctx.state.get(ctx.condition, varName),
        momentum,
        eps,
        name: layer.name,
      });
    },
  };
}

function convertLayerNorm(layer: LayerLike, cfg: Config, cc: ConvertContext): LayerOp {
  lastAxisOnly(layer, cfg.axis ?? -1);
  const ws = layerWeights(layer);
  const scale = cfg.scale !== false;
  const center = cfg.center !== false;
  const any = ws.gamma ?? ws.beta;
  const c = any ? any.shape[0]! : null;
  const l = scale || center ? cc.layerIndex++ : cc.layerIndex;
  const entries: [string, ParamSpec][] = [];
  if (scale) entries.push(['gamma', spec(layer.name, 'gamma', [requireWeight(layer, ws, 'gamma').shape[0]!], 'norm-scale', l, c!, c!)]);
  if (center) entries.push(['beta', spec(layer.name, 'beta', [requireWeight(layer, ws, 'beta').shape[0]!], 'norm-shift', l, c!, c!)]);
  const { specs, values } = withValues(layer, ws, entries);
  const eps = Number(cfg.epsilon ?? 1e-3);
  return {
    layerName: layer.name,
    className: 'LayerNormalization',
    specs,
    stateSpecs: [],
    values,
    external: false,
    run: (x, weights) => {
      const y = layerNormalize(x, eps);
      if (specs.length === 0) return y;
      const { ts, batch } = alignLayer(specs, weights);
      const width = x.shape[x.rank - 1]!;
      const gamma = scale ? ts[0]! : constant(1, width, batch);
      const beta = center ? ts[specs.length - 1]! : constant(0, width, batch);
      return affine(y, gamma, beta);
    },
  };
}

function convertEmbedding(layer: LayerLike, cc: ConvertContext): LayerOp {
  const ws = layerWeights(layer);
  const table = requireWeight(layer, ws, 'embeddings');
  const [vocab, dim] = table.shape as [number, number];
  const l = cc.layerIndex++;
  const { specs, values } = withValues(layer, ws, [['embeddings', spec(layer.name, 'embeddings', [vocab, dim], 'embedding', l, vocab, dim)]]);
  return {
    layerName: layer.name,
    className: 'Embedding',
    specs,
    stateSpecs: [],
    values,
    external: false,
    run: (x, weights) => embeddingLookup(x, weights[specs[0]!.name]!),
  };
}

/**
 * An unsupported layer kept as is: its own (shared) weights, through `layer.apply`. Per-sample
 * weights of the other layers still work: the kept layer treats every sample alike (true of
 * any layer that does not mix samples, i.e. everything but batch statistics in training).
 */
function externalOp(layer: LayerLike): LayerOp {
  return {
    layerName: layer.name,
    className: layer.getClassName(),
    specs: [],
    stateSpecs: [],
    values: {},
    external: true,
    run: (x, _w, ctx) => {
      const y = layer.apply(x, { training: ctx.options.training === true });
      if (!(y instanceof tf.Tensor))
        throw new ConfigError(`layers['${layer.name}']`, `layer '${layer.name}' (${layer.getClassName()}) kept fixed did not return one tensor`);
      return y;
    },
  };
}

// ----- model → layer chain -----

/** The model's layers in forward order (nested models flattened); checks it is one chain. */
function chainLayers(model: LayersModelLike, what: string): LayerLike[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new ConfigError(
      what,
      `'${model.name}' has ${model.inputs.length} inputs and ${model.outputs.length} outputs; hypernetize re-implements single-input, single-output chains`,
    );
  const layers = model.layers;
  const out: LayerLike[] = [];
  const functional = model.getClassName() !== 'Sequential';
  layers.forEach((layer, i) => {
    if (functional && i > 0) {
      const nodes = layer.inboundNodes ?? [];
      const ins = nodes.length === 1 ? nodes[0]!.inboundLayers : [];
      if (ins.length !== 1 || ins[0] !== layers[i - 1])
        throw new ConfigError(
          what,
          `layer '${layer.name}' (${layer.getClassName()}) of '${model.name}' does not take exactly the previous layer '${layers[i - 1]!.name}' as its only input; ` +
            'hypernetize re-implements linear chains (Sequential models, or functional models without branches, merges or shared layers)',
        );
    }
    if (isLayersModel(layer)) {
      const inner = chainLayers(layer, `layers['${layer.name}']`);
      out.push(...inner.filter((l) => l.getClassName() !== 'InputLayer'));
    } else out.push(layer);
  });
  return out;
}

export interface LayersConversion {
  readonly net: LayersTargetNet;
  /** Spec name (and layer name) → layer name, for `which`. */
  readonly layerOf: ReadonlyMap<string, string>;
  /** Layers kept as is (unsupported: 'fixed'): name → class and weight names. */
  readonly external: ReadonlyMap<string, { className: string; weights: string[] }>;
  /** The model's current values of every ParamSpec (and of the moving statistics), cloned. */
  readonly values: Weights;
}

/**
 * The functional re-implementation of a LayersModel. `params` are every supported layer's
 * weights (`${layerName}.${weightName}`); each may be shared or per-sample independently
 * (layers with a per-sample weight run per-sample, the others shared). Batch-norm moving
 * statistics live in a NetState (`state`, holding the model's values under condition '0';
 * a condition first seen in any NetState starts from the model's values too).
 */
export class LayersTargetNet implements TargetNet {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly stateSpecs: readonly StateSpec[];
  /** -1 where the model leaves a dimension open. */
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /** The model's moving statistics (condition '0'), used when options.state is not given. */
  readonly state: NetState | undefined;
  private readonly ops: readonly LayerOp[];
  private readonly stateValues: Record<string, tf.Tensor>;

  constructor(name: string, ops: LayerOp[], inputShape: number[], outputShape: number[]) {
    this.name = name;
    this.ops = ops;
    this.params = ops.flatMap((o) => o.specs);
    this.stateSpecs = ops.flatMap((o) => o.stateSpecs);
    this.inputShape = inputShape;
    this.outputShape = outputShape;
    this.stateValues = {};
    for (const o of ops) for (const s of o.stateSpecs) this.stateValues[s.name] = o.values[s.name]!;
    if (this.stateSpecs.length > 0) {
      this.state = new NetState(this.stateSpecs);
      this.seedState(this.state, '0');
    } else this.state = undefined;
  }

  /** Loads the model's moving statistics into `state` under `condition`. */
  seedState(state: NetState, condition: string | number = '0'): void {
    state.loadNamedTensors(Object.fromEntries(Object.entries(this.stateValues).map(([k, t]) => [`${condition}/${k}`, t])));
  }

  forward(x: tf.Tensor, weights: Weights, options: ForwardOptions = {}): tf.Tensor {
    const batch = checkWeights(this.params, weights, this.name, { mixed: true });
    const want = this.inputShape;
    if (x.rank !== want.length + 1 || want.some((d, i) => d !== -1 && x.shape[i + 1] !== d))
      throw new ShapeMismatchError(`input of ${this.name}`, [x.shape[0] ?? -1, ...want], x.shape, `pass [N, ${want.join(', ')}] (-1: any size)`);
    if (batch !== null && x.shape[0] !== batch)
      throw new ShapeMismatchError(
        `input of ${this.name} (per-sample weights)`,
        [batch, ...x.shape.slice(1)],
        x.shape,
        `the weights carry a batch of ${batch} weight sets: x needs one sample per weight set`,
      );
    const condition = options.condition ?? '0';
    const state = options.state ?? this.state;
    if (state && this.stateSpecs.length > 0 && !state.conditions().includes(String(condition))) this.seedState(state, condition);
    const ctx: RunContext = { options, state, condition };
    return tf.tidy(() => {
      let h = x;
      for (const op of this.ops) h = op.run(h, weights, ctx);
      return h;
    });
  }

  /** Frees the moving statistics (the model's values are snapshots owned here). */
  dispose(): void {
    this.state?.dispose();
    tf.dispose(Object.values(this.stateValues));
  }
}

/** Converts a LayersModel; with `keepUnsupported` unsupported layers run through layer.apply. */
export function convertLayersModel(model: LayersModelLike, keepUnsupported: boolean): LayersConversion {
  const layers = chainLayers(model, 'model');
  const ops: LayerOp[] = [];
  const cc: ConvertContext = { layerIndex: 0, nextActivation: null };
  const external = new Map<string, { className: string; weights: string[] }>();
  try {
    layers.forEach((layer, i) => {
      const next = layers[i + 1];
      const nextAct = next && next.getClassName() === 'Activation' ? (next.getConfig() as Config).activation : null;
      cc.nextActivation = typeof nextAct === 'string' ? nextAct : null;
      try {
        // Under tidy: the snapshots a converter took are freed when it throws.
        ops.push(tf.tidy(() => convertLayer(layer, cc) as unknown as tf.TensorContainer) as unknown as LayerOp);
      } catch (e) {
        if (!UnsupportedLayerError.isInstance(e) || !keepUnsupported) throw e;
        ops.push(externalOp(layer));
        external.set(layer.name, { className: layer.getClassName(), weights: layer.weights.map((w) => `${layer.name}.${tailName(w)}`) });
      }
    });
  } catch (e) {
    for (const o of ops) tf.dispose(Object.values(o.values));
    throw e;
  }
  const layerOf = new Map<string, string>();
  const values: Weights = {};
  for (const o of ops) {
    for (const s of o.specs) {
      layerOf.set(s.name, o.layerName);
      values[s.name] = o.values[s.name]!;
    }
  }
  const dims = (s: readonly (number | null)[]) => s.slice(1).map((d) => (d === null ? -1 : d));
  const net = new LayersTargetNet(model.name, ops, dims(model.inputs[0]!.shape), dims(model.outputs[0]!.shape));
  return { net, layerOf, external, values };
}
