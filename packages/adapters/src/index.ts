// The public API of @hypernets/adapters.
export { BackboneError } from './errors.js';
export { SentencePieceTokenizer } from './tokenizer.js';
export type { VocabEntry } from './tokenizer.js';
export { UseLiteEncoder, USE_LITE_DIMS } from './backbone/use-lite.js';
export type { UseLiteConstants, UseLiteDims } from './backbone/use-lite.js';
export { UseLite, PAD_ID, USE_LITE_PACKAGE, USE_LITE_VERSION, USE_LITE_WEIGHT_NAMES } from './backbone/load.js';
export { adapterSpecs, applyAdapter, checkAdapterShape } from './adapter.js';
export type { AdapterShape } from './adapter.js';
export { headFeatures, headInputWidth } from './heads.js';
export type { TaskKind } from './heads.js';
export { METHOD_NAMES, methodParams } from './methods/method.js';
export type {
  AdapterMethod,
  AuxiliaryLoss,
  Backbone,
  MethodContext,
  MethodForward,
  MethodName,
} from './methods/method.js';
export { AdapterModel, frozenEmbeddings } from './model.js';
export type { ModelOptions, ParamCounts, Prediction, TaskInfo } from './model.js';
export { LinearProbe } from './methods/linear.js';
export { FineTune } from './methods/finetune.js';
export { PerTaskAdapters } from './methods/adapters.js';
export { HyperAdapters } from './methods/hyperformer.js';
export { PrototypeHyperAdapters } from './methods/pha.js';
export type { PhaOptions } from './methods/pha.js';
export { fewShotTransfer, sampleShots } from './transfer.js';
export type { FewShotOptions, FewShotResult } from './transfer.js';
export type { HyperAdapterOptions, HyperVariant } from './methods/hyperformer.js';
export { createMethod } from './methods/create.js';
export type { MethodOptions } from './methods/create.js';
export { tokenizeTask } from './tasks.js';
export type { LabelledText, LabelledTexts, TokenizedSplit, TokenizedTask } from './tasks.js';
export { AdapterTrainer, ADAPTER_EVENT_TYPES } from './trainer.js';
export type {
  AdapterTrainEvent,
  AdapterTrainResult,
  AdapterTrainerOptions,
  ResolvedAdapterTrainerOptions,
} from './trainer.js';
export { MoeLanguageModel } from './moe/lm.js';
export type { MoeLmConfig, ResolvedMoeLmConfig } from './moe/lm.js';
export { MoeLmTrainer, MOE_LM_EVENT_TYPES } from './moe/trainer.js';
export type {
  CharSplits,
  MoeLmTestResult,
  MoeLmTrainEvent,
  MoeLmTrainResult,
  MoeLmTrainerOptions,
  ResolvedMoeLmTrainerOptions,
} from './moe/trainer.js';
export { MoeFeedForward } from './moe/layer.js';
export type { MoeFeedForwardConfig, RoutingStats } from './moe/layer.js';
export { dispatchPlan, pairOps, topKAt } from './moe/dispatch.js';
export type { DispatchPlan } from './moe/dispatch.js';
export { ROUTER_KINDS } from './moe/routers/router.js';
export type { MoeRouter, RouterKind } from './moe/routers/router.js';
export { DgTrainer, DG_EVENT_TYPES } from './dg/trainer.js';
export type { DgEnvironment, DgTrainerOptions, DgTrainResult, DgTrainEvent } from './dg/trainer.js';
export type { DgAlgorithm } from './dg/algorithm.js';
export { createErm, torchDefaultInit } from './dg/erm.js';
export { createHmoe } from './dg/hmoe.js';
export type { HmoeConfig } from './dg/hmoe.js';
