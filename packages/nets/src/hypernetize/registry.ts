import type { LayerConverter } from './types.js';
import { convertConv2D } from './converters/conv.js';
import { convertDense } from './converters/dense.js';
import { convertEmbedding } from './converters/embedding.js';
import { convertLSTM } from './converters/lstm.js';
import { convertBatchNorm, convertLayerNorm } from './converters/normalization.js';
import { convertGlobalPooling2D, convertPooling2D } from './converters/pooling.js';
import {
  convertActivation,
  convertDropout,
  convertFlatten,
  convertInputLayer,
  convertReshape,
} from './converters/weightless.js';

/**
 * The converter of each tfjs-layers class re-implemented functionally (keyed by
 * `getClassName()`). To support a class, add its converter here: SUPPORTED_LAYER_CLASSES and
 * the UnsupportedLayerError message follow.
 */
export const LAYER_CONVERTERS: ReadonlyMap<string, LayerConverter> = new Map<string, LayerConverter>([
  ['Dense', convertDense],
  ['Conv2D', convertConv2D],
  ['LSTM', convertLSTM],
  ['BatchNormalization', convertBatchNorm],
  ['LayerNormalization', convertLayerNorm],
  ['Embedding', convertEmbedding],
  ['Flatten', convertFlatten],
  ['Activation', convertActivation],
  ['Dropout', convertDropout],
  ['Reshape', convertReshape],
  ['MaxPooling2D', convertPooling2D],
  ['AveragePooling2D', convertPooling2D],
  ['GlobalAveragePooling2D', convertGlobalPooling2D],
  ['GlobalMaxPooling2D', convertGlobalPooling2D],
  ['InputLayer', convertInputLayer],
]);

/** Layer classes re-implemented functionally (their weights can be generated). */
export const SUPPORTED_LAYER_CLASSES: readonly string[] = Object.freeze([...LAYER_CONVERTERS.keys()]);
