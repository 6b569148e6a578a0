// The public API of @hypernets/nets; what the hypernets packages share beyond it is in
// ./internal.ts (`@hypernets/nets/internal`, no semver promise).
export type { Condition, ConditionMode, FlatOrder, HyperNet, FlatHyperNet } from './hypernet.js';
export { MLPHyperNetBase } from './base.js';
export type { HyperMLPConfig, Conditioning } from './base.js';
export { HyperMLP } from './hmlp.js';
export { ChunkedHyperMLP } from './chunked.js';
export type { ChunkedHyperMLPConfig } from './chunked.js';
export { StructuredHyperMLP } from './structured.js';
export type { StructuredHyperMLPConfig, BlockTiling } from './structured.js';
export { LowRankHyperNet } from './lowrank.js';
export type { LowRankHyperNetConfig, TensorFactorization } from './lowrank.js';
export { PerturbedHyperNet } from './perturb.js';
export type { PerturbedHyperNetConfig, PerturbOptions } from './perturb.js';
export { HyperLSTM } from './hyperlstm.js';
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
export type { HyperInit, EntryStats } from './init.js';
