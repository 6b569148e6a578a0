import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, tidy, type Weights } from '@hypernets/core';
import { tailName } from './converters/common.js';
import { UnsupportedLayerError } from './errors.js';
import { LayersTargetNet } from './layers-target-net.js';
import { LAYER_CONVERTERS } from './registry.js';
import type { Config, ConvertContext, LayerLike, LayerOp, LayersModelLike } from './types.js';

/**
 * A tfjs-layers LayersModel (Sequential or a linear-chain functional model) as a TargetNet:
 * each supported layer re-implemented with core's functional ops, so its weights can come
 * from outside — shared, or per-sample with a leading batch dimension (which tfjs layers
 * cannot do). tfjs-layers is never imported: layers are read through `getClassName()`,
 * `getConfig()`, `weights` and `getWeights()` (duck typing), so it stays a dev dependency.
 */

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

/** One layer through its class's converter (registry.ts). */
function convertLayer(layer: LayerLike, cc: ConvertContext): LayerOp {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Config;
  const convert = LAYER_CONVERTERS.get(cls);
  if (!convert) throw new UnsupportedLayerError(layer.name, cls, 'is not supported');
  return convert(layer, cfg, cc);
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
        throw new ConfigError(
          `layers['${layer.name}']`,
          `layer '${layer.name}' (${layer.getClassName()}) kept fixed did not return one tensor`,
        );
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
          `layer '${layer.name}' (${layer.getClassName()}) of '${model.name}' does not take exactly ` +
            `the previous layer '${layers[i - 1]!.name}' as its only input; ` +
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
        ops.push(tidy(() => convertLayer(layer, cc)));
      } catch (e) {
        if (!UnsupportedLayerError.isInstance(e) || !keepUnsupported) throw e;
        ops.push(externalOp(layer));
        external.set(layer.name, {
          className: layer.getClassName(),
          weights: layer.weights.map((w) => `${layer.name}.${tailName(w)}`),
        });
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
