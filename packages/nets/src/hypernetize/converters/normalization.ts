import { ConfigError, affine, batchNorm, layerNormalize, type ParamSpec } from '@hypernets/core';
import { UnsupportedLayerError } from '../errors.js';
import type { Config, ConvertContext, LayerLike, LayerOp } from '../types.js';
import { alignLayer, constant, inputRank, layerWeights, requireWeight, spec, withValues } from './common.js';

/** BatchNormalization and LayerNormalization over the last axis. */

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

export function convertBatchNorm(layer: LayerLike, cfg: Config, cc: ConvertContext): LayerOp {
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
      if (!ctx.state)
        throw new ConfigError(
          'options.state',
          `BatchNormalization '${layer.name}' needs a NetState for its moving statistics`,
        );
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

export function convertLayerNorm(layer: LayerLike, cfg: Config, cc: ConvertContext): LayerOp {
  lastAxisOnly(layer, cfg.axis ?? -1);
  const ws = layerWeights(layer);
  const scale = cfg.scale !== false;
  const center = cfg.center !== false;
  const any = ws.gamma ?? ws.beta;
  const c = any ? any.shape[0]! : null;
  const l = scale || center ? cc.layerIndex++ : cc.layerIndex;
  const entries: [string, ParamSpec][] = [];
  if (scale)
    entries.push([
      'gamma',
      spec(layer.name, 'gamma', [requireWeight(layer, ws, 'gamma').shape[0]!], 'norm-scale', l, c!, c!),
    ]);
  if (center)
    entries.push([
      'beta',
      spec(layer.name, 'beta', [requireWeight(layer, ws, 'beta').shape[0]!], 'norm-shift', l, c!, c!),
    ]);
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
