import * as tf from '@tensorflow/tfjs-core';
import { UnsupportedLayerError } from '../errors.js';
import type { LayerConverter } from '../types.js';
import { channelsLast, pair, weightless } from './common.js';

/** 2-D pooling (NHWC): MaxPooling2D, AveragePooling2D and their global forms. */

export const convertPooling2D: LayerConverter = (layer, cfg) => {
  const cls = layer.getClassName();
  channelsLast(layer, cfg);
  const size = pair(cfg.poolSize ?? 2, 'poolSize', layer);
  const strides = cfg.strides === undefined || cfg.strides === null ? size : pair(cfg.strides, 'strides', layer);
  const padding = (cfg.padding ?? 'valid') as 'valid' | 'same';
  if (padding !== 'valid' && padding !== 'same')
    throw new UnsupportedLayerError(layer.name, cls, `has padding '${String(padding)}'`);
  return weightless(layer, (x) =>
    cls === 'MaxPooling2D'
      ? tf.maxPool(x as tf.Tensor4D, size, strides, padding)
      : tf.avgPool(x as tf.Tensor4D, size, strides, padding),
  );
};

export const convertGlobalPooling2D: LayerConverter = (layer, cfg) => {
  const cls = layer.getClassName();
  channelsLast(layer, cfg);
  return weightless(layer, (x) => (cls === 'GlobalMaxPooling2D' ? tf.max(x, [1, 2]) : tf.mean(x, [1, 2])));
};
