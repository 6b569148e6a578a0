/**
 * tfjs-layers models as TargetNets (hypernetize's LayersModel path):
 * - `types.ts` — the duck-typed views of layers and models, and LayerOp (one converted layer);
 * - `activations.ts` — Keras activation names (core's `activate` where it has them);
 * - `converters/` — one file per layer family, `common.ts` their shared helpers;
 * - `registry.ts` — class name → converter, and SUPPORTED_LAYER_CLASSES derived from it;
 * - `layers-target-net.ts` — LayersTargetNet, the converted chain;
 * - `convert.ts` — model → layer chain → LayersTargetNet (convertLayersModel).
 */
export { UnsupportedLayerError } from './errors.js';
export { LAYER_CONVERTERS, SUPPORTED_LAYER_CLASSES } from './registry.js';
export { LayersTargetNet } from './layers-target-net.js';
export { convertLayersModel, isLayersModel, type LayersConversion } from './convert.js';
export type { LayerConverter, LayerLike, LayersModelLike, LayerVariableLike } from './types.js';
