/**
 * Functional ops, one per file. Each takes weights that are either shared (the ParamSpec shape)
 * or per-sample (a leading batch dimension B equal to x's batch).
 */
export { linear, linearTorch } from './linear.js';
export { affine } from './affine.js';
export { activate, type Activation } from './activate.js';
export { gelu, geluTanh } from './gelu.js';
export { layerNormalize, layerNormSpecs } from './layer-norm.js';
export { groupNormalize } from './group-norm.js';
export { conv2d, convGeometry, convSpecs, im2col, resolvePerSampleConvMethod } from './conv.js';
export type { Padding, PerSampleConvMethod, Conv2dOptions, ConvGeometry } from './conv.js';
export { pool2d, globalAvgPool, subsample2, maxPoolPadded, avgPoolTorch } from './pool.js';
export type { PoolOptions } from './pool.js';
export { batchNorm, batchNormSpecs, batchNormStateSpecs, BN_MOMENTUM, BN_EPS } from './batch-norm.js';
export type { BatchNormCall, BatchNormSettings } from './batch-norm.js';
export { embeddingLookup } from './embedding.js';
export { multiHeadAttention } from './attention.js';
export type { AttentionOptions } from './attention.js';
export { lstmCell, lstmLayer } from './lstm.js';
export { dilateKernel } from './dilate.js';
export { depthwiseConv2dTorch } from './depthwise-conv.js';
export type { TorchConvOptions } from './depthwise-conv.js';
export type { LstmActivations, LstmCellOptions } from './lstm.js';
export { softmaxCrossEntropy, mse, accuracy, countCorrect } from './losses.js';
export { stopGradient } from './stop-gradient.js';
export type { Labels } from './losses.js';
