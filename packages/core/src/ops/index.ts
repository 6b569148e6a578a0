/**
 * Functional ops, one per file. Each takes weights that are either shared (the ParamSpec shape)
 * or per-sample (a leading batch dimension B equal to x's batch).
 */
export { linear } from './linear.js';
export { affine } from './affine.js';
export { activate, type Activation } from './activate.js';
export { layerNormalize } from './layer-norm.js';
