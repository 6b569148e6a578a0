import * as tf from '@tensorflow/tfjs-core';
import { activationOf } from '../activations.js';
import { UnsupportedLayerError } from '../errors.js';
import type { LayerConverter } from '../types.js';
import { channelsLast, needRng, weightless } from './common.js';

/** Layers without weights that reshape or pass values through: InputLayer, Flatten, Reshape, Activation, Dropout. */

export const convertInputLayer: LayerConverter = (layer) => weightless(layer, (x) => x);

export const convertFlatten: LayerConverter = (layer, cfg) => {
  channelsLast(layer, cfg);
  return weightless(layer, (x) => tf.reshape(x, [x.shape[0]!, -1]));
};

export const convertReshape: LayerConverter = (layer, cfg) => {
  const target = cfg.targetShape as (number | null)[];
  return weightless(layer, (x) => tf.reshape(x, [x.shape[0]!, ...target.map((d) => (d === null ? -1 : d))]));
};

export const convertActivation: LayerConverter = (layer, cfg) => {
  const act = activationOf(layer, cfg.activation);
  return weightless(layer, (x) => act.fn(x));
};

export const convertDropout: LayerConverter = (layer, cfg) => {
  const rate = Number(cfg.rate ?? 0);
  if (cfg.noiseShape !== undefined && cfg.noiseShape !== null)
    throw new UnsupportedLayerError(
      layer.name,
      layer.getClassName(),
      'has a noiseShape (only plain dropout is re-implemented)',
    );
  return weightless(layer, (x, ctx) =>
    ctx.options.training && rate > 0
      ? tf.mul(x, needRng(ctx.options, layer.name, rate).dropoutMask([...x.shape], rate))
      : x,
  );
};
