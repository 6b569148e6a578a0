import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  NetState,
  Rng,
  ShapeMismatchError,
  checkWeights,
  type ForwardOptions,
  type ParamSpec,
  type StateSpec,
  type TargetNet,
  type Weights,
} from '@hypernets/core';
import { initTensor, sameShape } from '@hypernets/core/internal';
import { convertLayersModel, isLayersModel, LayersTargetNet, type LayersModelLike } from './hypernetize/index.js';

export { LayersTargetNet, UnsupportedLayerError, SUPPORTED_LAYER_CLASSES } from './hypernetize/index.js';
export type { LayerLike, LayersModelLike, LayerVariableLike } from './hypernetize/index.js';

/**
 * Which parameters a hypernetwork generates (the others stay fixed):
 * - 'all' (default);
 * - a list of ParamSpec names (`dense_1.kernel`) and/or layer names (`dense_1`: all of its
 *   weights) — for a TargetNet the layer of `fc1.weight` is `fc1`, of `lstm.0.weight_ih` `lstm.0`;
 * - a predicate on ParamSpec;
 * - `{ names?, layers?, filter? }`: a spec is chosen when it is named or in a named layer (when
 *   names or layers are given) and passes the filter (when given).
 * Every listed name must exist; an empty selection is an error.
 */
export type ParamSelector =
  | 'all'
  | readonly string[]
  | ((spec: ParamSpec) => boolean)
  | {
      readonly names?: readonly string[];
      readonly layers?: readonly string[];
      readonly filter?: (spec: ParamSpec) => boolean;
    };

export interface HypernetizeOptions {
  /** What to generate. Default 'all'. */
  which?: ParamSelector;
  /**
   * LayersModel layers hypernetize cannot re-implement: 'error' (default, an
   * UnsupportedLayerError naming the layer) or 'fixed' (kept with their own weights and run
   * through `layer.apply`; their weights cannot be selected by `which`).
   */
  unsupported?: 'error' | 'fixed';
  /**
   * Values for parameters that are not generated, by ParamSpec name. For a LayersModel they
   * override the model's values; for a TargetNet, specs without a value get a fresh init
   * (seeded by `seed`). A value given for a generated spec becomes its `initial` value.
   */
  fixed?: Weights;
  /** Seed (or Rng) of the fresh init of a TargetNet's fixed parameters. Default 0. */
  seed?: number | Rng;
  /** Default `hypernetized-${name}`. */
  name?: string;
}

/**
 * A network whose chosen parameters come from a hypernetwork. It is a TargetNet whose
 * `params` are the generated ones, so it can be passed as `target` to any hypernetwork of
 * this package; `forward(x, generated)` merges them with `fixed` and runs `target`.
 */
export interface Hypernetized extends TargetNet {
  /** The full functional network: every ParamSpec, generated or fixed. */
  readonly target: TargetNet;
  /** The ParamSpecs to generate, in `target.params` order. */
  readonly params: readonly ParamSpec[];
  /** Values of the other ParamSpecs (snapshots; never trained here). */
  readonly fixed: Weights;
  /**
   * Current values of the generated ParamSpecs: the model's weights (LayersModel), the given
   * `fixed` value or a fresh init (TargetNet). `forward(x, initial)` runs the original network.
   */
  readonly initial: Weights;
  /** Running statistics (batch norm): the model's moving mean/variance under condition '0'. */
  readonly state: NetState | undefined;
  /**
   * generated: a tensor per `params` entry, all shared (spec shape) or all per-sample
   * ([B, ...spec shape], B = x's batch: sample i runs with weight set i). Per-sample weights
   * work for the fixed parameters too (they are shared across the batch). Options as
   * TargetNet.forward; `state` defaults to `this.state`.
   */
  forward(x: tf.Tensor, generated: Weights, options?: ForwardOptions): tf.Tensor;
  /** Every weight of `target`: generated merged with fixed (per-sample: fixed broadcast when needed). */
  merge(generated: Weights): Weights;
  /** Frees `fixed`, `initial` and `state`. */
  dispose(): void;
}

function isTargetNet(m: unknown): m is TargetNet {
  const o = m as Partial<TargetNet> | null;
  return typeof o === 'object' && o !== null && Array.isArray(o.params) && typeof o.forward === 'function';
}

/** The layer a ParamSpec belongs to by name: everything before its last '.'. */
function layerFromName(name: string): string {
  const i = name.lastIndexOf('.');
  return i < 0 ? name : name.slice(0, i);
}

interface SelectContext {
  specs: readonly ParamSpec[];
  layerOf: (spec: ParamSpec) => string;
  /** Layers kept as is (not generatable): name → class and weight names. */
  external: ReadonlyMap<string, { className: string; weights: string[] }>;
}

function notGeneratable(name: string, ctx: SelectContext): ConfigError | null {
  for (const [layer, info] of ctx.external)
    if (layer === name || info.weights.includes(name))
      return new ConfigError(
        'which',
        `'${name}' belongs to layer '${layer}' (${info.className}), kept fixed with its own weights (unsupported: 'fixed'); ` +
          'its weights cannot be generated — remove it from `which`',
      );
  return null;
}

function unknownName(kind: string, name: string, ctx: SelectContext): ConfigError {
  const names = kind === 'layer' ? [...new Set(ctx.specs.map(ctx.layerOf))] : ctx.specs.map((s) => s.name);
  const shown = names.length > 30 ? `${names.slice(0, 30).join(', ')}, … (${names.length} in all)` : names.join(', ');
  return new ConfigError(
    'which',
    `no ${kind} named '${name}'; ${kind === 'layer' ? 'layers with parameters' : 'ParamSpecs'}: ${shown}`,
  );
}

/** The chosen specs, in target order (see ParamSelector). */
function selectParams(which: ParamSelector, ctx: SelectContext): ParamSpec[] {
  let chosen: ParamSpec[];
  if (which === 'all') chosen = [...ctx.specs];
  else if (typeof which === 'function') chosen = ctx.specs.filter((s) => which(s));
  else {
    const isList = Array.isArray(which);
    const obj = which as { names?: readonly string[]; layers?: readonly string[]; filter?: (s: ParamSpec) => boolean };
    if (!isList && (typeof which !== 'object' || which === null))
      throw new ConfigError(
        'which',
        `must be 'all', a list of ParamSpec or layer names, a predicate or { names, layers, filter }; got ${JSON.stringify(which)}`,
      );
    if (!isList) {
      const extra = Object.keys(obj).filter((k) => !['names', 'layers', 'filter'].includes(k));
      if (extra.length) throw new ConfigError(`which.${extra[0]}`, 'unknown key; use names, layers and/or filter');
    }
    const names = new Set<string>();
    const layers = new Set<string>();
    const entries: [string, 'name' | 'layer' | 'either'][] = isList
      ? (which as readonly string[]).map((n) => [n, 'either'])
      : [
          ...(obj.names ?? []).map((n): [string, 'name'] => [n, 'name']),
          ...(obj.layers ?? []).map((n): [string, 'layer'] => [n, 'layer']),
        ];
    for (const [n, kind] of entries) {
      if (typeof n !== 'string') throw new ConfigError('which', `names must be strings, got ${JSON.stringify(n)}`);
      const isName = kind !== 'layer' && ctx.specs.some((s) => s.name === n);
      const isLayer = kind !== 'name' && ctx.specs.some((s) => ctx.layerOf(s) === n);
      if (isName) names.add(n);
      if (isLayer) layers.add(n);
      if (!isName && !isLayer)
        throw (
          notGeneratable(n, ctx) ??
          unknownName(kind === 'layer' ? 'layer' : kind === 'name' ? 'ParamSpec' : 'ParamSpec or layer', n, ctx)
        );
    }
    const byName = entries.length > 0;
    chosen = ctx.specs.filter(
      (s) => (!byName || names.has(s.name) || layers.has(ctx.layerOf(s))) && (isList || !obj.filter || obj.filter(s)),
    );
  }
  if (chosen.length === 0)
    throw new ConfigError(
      'which',
      `selects no parameter to generate (the network has ${ctx.specs.length}: ${ctx.specs.map((s) => s.name).join(', ')})`,
    );
  return chosen;
}

function checkFixedValues(specs: readonly ParamSpec[], fixed: Weights | undefined, owner: string): void {
  if (!fixed) return;
  for (const [k, t] of Object.entries(fixed)) {
    const s = specs.find((p) => p.name === k);
    if (!s) throw new ConfigError(`fixed.${k}`, `${owner} has no ParamSpec named '${k}'`);
    if (!sameShape(t.shape, s.shape))
      throw new ShapeMismatchError(
        `fixed value of ParamSpec '${k}'`,
        s.shape,
        t.shape,
        'fixed values are shared: pass the spec shape',
      );
  }
}

class HypernetizedNet implements Hypernetized {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly stateSpecs?: readonly StateSpec[];
  private readonly generatedNames: ReadonlySet<string>;

  constructor(
    readonly target: TargetNet,
    params: ParamSpec[],
    readonly fixed: Weights,
    readonly initial: Weights,
    readonly state: NetState | undefined,
    name: string,
    /** The target accepts shared and per-sample weights side by side (LayersTargetNet). */
    private readonly mixedLayout: boolean,
    private readonly owned: (() => void) | null,
  ) {
    this.name = name;
    this.params = params;
    this.generatedNames = new Set(params.map((p) => p.name));
    this.inputShape = target.inputShape;
    this.outputShape = target.outputShape;
    if (target.stateSpecs) this.stateSpecs = target.stateSpecs;
  }

  private check(generated: Weights): number | null {
    const batch = checkWeights(this.params, generated, this.name);
    for (const k of Object.keys(generated))
      if (!this.generatedNames.has(k))
        throw new ConfigError(
          `weights.${k}`,
          k in this.fixed
            ? `'${k}' is a fixed parameter of ${this.name} (not selected by \`which\`); hypernetize again with it in \`which\` to generate it`
            : `${this.name} has no ParamSpec named '${k}'`,
        );
    return batch;
  }

  merge(generated: Weights): Weights {
    const batch = this.check(generated);
    return this.mergeChecked(generated, batch);
  }

  private mergeChecked(generated: Weights, batch: number | null): Weights {
    if (batch === null || this.mixedLayout) return { ...this.fixed, ...generated };
    // A plain TargetNet takes all-shared or all-per-sample weights: broadcast the fixed ones.
    return tf.tidy(() => {
      const out: Weights = { ...generated };
      for (const [k, t] of Object.entries(this.fixed))
        out[k] = tf.broadcastTo(tf.expandDims(t, 0), [batch, ...t.shape]);
      return out;
    });
  }

  forward(x: tf.Tensor, generated: Weights, options: ForwardOptions = {}): tf.Tensor {
    const batch = this.check(generated);
    const opts = options.state === undefined && this.state ? { ...options, state: this.state } : options;
    return tf.tidy(() => this.target.forward(x, this.mergeChecked(generated, batch), opts));
  }

  dispose(): void {
    tf.dispose(Object.values(this.fixed));
    tf.dispose(Object.values(this.initial));
    this.owned?.();
  }
}

/**
 * Turns a TargetNet, or a tfjs-layers LayersModel (Sequential or a linear-chain functional
 * model of Dense, Conv2D, LSTM, BatchNormalization, LayerNormalization, Embedding and
 * weightless layers), into a network whose chosen parameters a hypernetwork generates:
 *
 *   const h = hypernetize(model, { which: ['dense_2'] });
 *   const hnet = new HyperMLP({ target: h, numConditions: 5 });
 *   const y = h.forward(x, hnet.generate({ id: ids }));   // per-sample weights work too
 *
 * A LayersModel becomes a LayersTargetNet (`h.target`): each layer re-implemented with core's
 * functional ops, ParamSpecs named `${layerName}.${weightName}` (`dense_1.kernel`,
 * `lstm_1.recurrent_kernel`, `bn.gamma`), the model's weights (snapshots) as `fixed` and
 * `initial`, batch-norm moving statistics in `h.state`. The model itself is not changed.
 */
export function hypernetize(model: TargetNet | LayersModelLike, options: HypernetizeOptions = {}): Hypernetized {
  const unsupported = options.unsupported ?? 'error';
  if (unsupported !== 'error' && unsupported !== 'fixed')
    throw new ConfigError('unsupported', `must be 'error' or 'fixed', got ${JSON.stringify(unsupported)}`);
  const which = options.which ?? 'all';

  if (isLayersModel(model)) {
    const conv = convertLayersModel(model, unsupported === 'fixed');
    const net = conv.net;
    try {
      const chosen = selectParams(which, {
        specs: net.params,
        layerOf: (s) => conv.layerOf.get(s.name) ?? layerFromName(s.name),
        external: conv.external,
      });
      checkFixedValues(net.params, options.fixed, net.name);
      const ids = new Set(chosen.map((s) => s.name));
      const fixed: Weights = {};
      const initial: Weights = {};
      for (const s of net.params) {
        const own = conv.values[s.name]!;
        const given = options.fixed?.[s.name];
        if (given) own.dispose();
        (ids.has(s.name) ? initial : fixed)[s.name] = given ? tf.clone(given) : own;
      }
      return new HypernetizedNet(
        net,
        chosen,
        fixed,
        initial,
        net.state,
        options.name ?? `hypernetized-${net.name}`,
        true,
        () => net.dispose(),
      );
    } catch (e) {
      tf.dispose(Object.values(conv.values));
      net.dispose();
      throw e;
    }
  }

  if (!isTargetNet(model))
    throw new ConfigError(
      'model',
      'hypernetize takes a TargetNet (params + forward) or a tfjs-layers LayersModel (Sequential or functional); got ' +
        (model === null
          ? 'null'
          : typeof model === 'object'
            ? `an object with keys ${Object.keys(model).slice(0, 8).join(', ')}`
            : typeof model),
    );
  const target = model;
  const chosen = selectParams(which, {
    specs: target.params,
    layerOf: (s) => layerFromName(s.name),
    external: new Map(),
  });
  checkFixedValues(target.params, options.fixed, target.name);
  const rng = options.seed instanceof Rng ? options.seed : new Rng(options.seed ?? 0);
  const ids = new Set(chosen.map((s) => s.name));
  const fixed: Weights = {};
  const initial: Weights = {};
  for (const s of target.params) {
    const given = options.fixed?.[s.name];
    (ids.has(s.name) ? initial : fixed)[s.name] = given ? tf.clone(given) : initTensor(s, rng);
  }
  const state = target.stateSpecs && target.stateSpecs.length > 0 ? new NetState(target.stateSpecs) : undefined;
  return new HypernetizedNet(
    target,
    chosen,
    fixed,
    initial,
    state,
    options.name ?? `hypernetized-${target.name}`,
    target instanceof LayersTargetNet,
    () => state?.dispose(),
  );
}
