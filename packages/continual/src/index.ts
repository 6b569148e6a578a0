// Adam lives in @hypernets/core now (shared with @hypernets/graph); re-exported for existing imports
export { Adam } from '@hypernets/core';
export type { AdamConfig } from '@hypernets/core';
export {
  SCENARIOS,
  headLayout,
  headLogits,
  activeLogits,
  activeLabels,
  classIncremental,
  taskLoss,
  softmaxEntropy,
  softmaxLogEntropy,
  entropyInference,
} from './scenario.js';
export type { Scenario, HeadLayout } from './scenario.js';
export { METHODS } from './method.js';
export type { ContinualMethod, MethodName, MethodState, StepLosses } from './method.js';
export { outputRegularizer, headMasks } from './regularizer.js';
export { HnetMethod } from './methods/index.js';
export type { HnetMethodConfig } from './methods/index.js';
export { evaluateTask, predict } from './evaluate.js';
export type { TaskEvaluation, Prediction } from './evaluate.js';
export { averageAccuracy, backwardTransfer, forgetting } from './metrics.js';
export type { AccuracyMatrix } from './metrics.js';
export { ContinualTrainer, taskSeed } from './trainer.js';
export type { ContinualTrainerOptions, ContinualEvent, ContinualResult, CurvePoint } from './trainer.js';
export {
  FinetuneMethod,
  EwcMethod,
  SiMethod,
  diagonalFisher,
  baselineDefaults,
  BENCHMARKS,
  FISHER_LABELS,
} from './methods/index.js';
export type {
  BaselineConfig,
  EwcConfig,
  SiConfig,
  FisherOptions,
  FisherLabels,
  Benchmark,
  BaselineDefaults,
} from './methods/index.js';
