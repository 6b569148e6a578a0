export { VariableOwner } from './variables.js';
export type { Condition, ConditionMode, FlatOrder, HyperNet, FlatHyperNet } from './hypernet.js';
export { splitFlat, flattenWeights, conditionInput, generateFrom, flatAxes } from './hypernet.js';
export { MLPHyperNetBase, lookup, resolveConditioning, checkConditionBatch, conditionFeatures } from './base.js';
export type { HyperMLPConfig, Conditioning } from './base.js';
export { HyperMLP } from './hmlp.js';
export { ChunkedHyperMLP } from './chunked.js';
export type { ChunkedHyperMLPConfig } from './chunked.js';
export { StructuredHyperMLP } from './structured.js';
export type { StructuredHyperMLPConfig, BlockTiling } from './structured.js';
export { LowRankHyperNet, factorize } from './lowrank.js';
export type { LowRankHyperNetConfig, TensorFactorization } from './lowrank.js';
export { PerturbedHyperNet } from './perturb.js';
export type { PerturbedHyperNetConfig, PerturbOptions } from './perturb.js';
export { HyperLSTM, resolveHyperLSTMConfig, tokenTensor, orthogonalMatrix } from './hyperlstm.js';
export type {
  HyperLSTMConfig,
  ResolvedHyperLSTMConfig,
  HyperLSTMState,
  HyperLSTMForwardOptions,
  HyperLSTMRunOptions,
  HyperLSTMResult,
  TokenIds,
} from './hyperlstm.js';
export { hypernetize, LayersTargetNet, UnsupportedLayerError, SUPPORTED_LAYER_CLASSES } from './hypernetize.js';
export type {
  Hypernetized,
  HypernetizeOptions,
  ParamSelector,
  LayerLike,
  LayersModelLike,
  LayerVariableLike,
} from './hypernetize.js';
export { entryStats, specStats, hyperfanColumns, chunkedStats } from './init.js';
export type { HyperInit, EntryStats } from './init.js';
export { mipEncode } from './mip.js';
