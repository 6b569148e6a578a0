import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  paramSpec,
  type ForwardOptions,
  type ParamKind,
  type ParamSpec,
  type Weights,
} from '@hypernets/core';
import { UnsupportedLayerError } from '../errors.js';
import type { Config, LayerLike, LayerOp, LayerVariableLike, RunContext } from '../types.js';

/** Helpers every converter shares: reading a layer's weights and config, building specs. */

export function pair(v: unknown, what: string, layer: LayerLike): [number, number] {
  const p = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? v : null;
  if (!p || !p.every((d) => Number.isInteger(d) && d > 0))
    throw new UnsupportedLayerError(
      layer.name,
      layer.getClassName(),
      `has ${what} ${JSON.stringify(v)} (expected a positive integer or a pair)`,
    );
  return [p[0] as number, p[1] as number];
}

export function tailName(v: LayerVariableLike): string {
  const n = v.originalName ?? v.name;
  return n.slice(n.lastIndexOf('/') + 1);
}

/** The layer's weights by their own name (`kernel`, `bias`, `gamma`, …), cloned (a snapshot). */
export function layerWeights(layer: LayerLike): Record<string, tf.Tensor> {
  const vars = layer.weights;
  const values = layer.getWeights();
  const out: Record<string, tf.Tensor> = {};
  vars.forEach((v, i) => {
    out[tailName(v)] = tf.clone(values[i]!);
  });
  return out;
}

export function requireWeight(layer: LayerLike, ws: Record<string, tf.Tensor>, name: string): tf.Tensor {
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
export function alignLayer(specs: readonly ParamSpec[], weights: Weights): { ts: tf.Tensor[]; batch: number | null } {
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
export function constant(value: number, c: number, batch: number | null): tf.Tensor {
  return tf.fill(batch === null ? [c] : [batch, c], value);
}

export function spec(
  layerName: string,
  weight: string,
  shape: readonly number[],
  kind: ParamKind,
  layer: number,
  fanIn: number,
  fanOut: number,
  activation?: string,
): ParamSpec {
  return paramSpec({
    name: `${layerName}.${weight}`,
    shape,
    kind,
    layer,
    fanIn,
    fanOut,
    ...(activation ? { activation } : {}),
  });
}

export function needRng(options: ForwardOptions, layer: string, rate: number) {
  if (!options.rng)
    throw new ConfigError(
      'options.rng',
      `layer '${layer}' (Dropout, rate ${rate}) runs in training mode: pass options.rng (new Rng(seed)) for the masks`,
    );
  return options.rng;
}

/** The input rank a built layer saw (with batch), or null when tfjs does not know it. */
export function inputRank(layer: LayerLike): number | null {
  const node = layer.inboundNodes?.[0] as { inputShapes?: unknown } | undefined;
  const shapes = node?.inputShapes;
  const first = Array.isArray(shapes) ? (Array.isArray(shapes[0]) ? shapes[0] : shapes) : null;
  return first ? first.length : null;
}

export function weightless(layer: LayerLike, run: (x: tf.Tensor, ctx: RunContext) => tf.Tensor): LayerOp {
  return {
    layerName: layer.name,
    className: layer.getClassName(),
    specs: [],
    stateSpecs: [],
    values: {},
    external: false,
    run: (x, _w, ctx) => run(x, ctx),
  };
}

/** Throws unless the layer's `dataFormat` is channelsLast (NHWC), the one re-implemented. */
export function channelsLast(layer: LayerLike, cfg: Config): void {
  if (cfg.dataFormat !== undefined && cfg.dataFormat !== null && cfg.dataFormat !== 'channelsLast')
    throw new UnsupportedLayerError(
      layer.name,
      layer.getClassName(),
      `has dataFormat '${String(cfg.dataFormat)}' (only 'channelsLast', NHWC, is re-implemented)`,
    );
}

/** Specs (in the order given) and cloned values for a layer's weights. */
export function withValues(
  layer: LayerLike,
  ws: Record<string, tf.Tensor>,
  specs: [string, ParamSpec][],
): { specs: ParamSpec[]; values: Weights } {
  const values: Weights = {};
  for (const [w, s] of specs) values[s.name] = ws[w]!;
  // Weights the layer has that no spec took (none for the supported classes) are dropped.
  for (const [k, t] of Object.entries(ws)) if (!specs.some(([w]) => w === k) && !k.startsWith('moving_')) t.dispose();
  return { specs: specs.map(([, s]) => s), values };
}
