// The public API of @hypernets/continual; ./internal.ts holds what the CLI and tests share
// beyond it (no semver promise). Adam is @hypernets/core's.
export { SCENARIOS, headLayout, entropyInference } from './scenario.js';
export type { Scenario, HeadLayout } from './scenario.js';
export { METHODS } from './method.js';
export type { ContinualMethod, MethodName, MethodState, StepLosses } from './method.js';
export { outputRegularizer } from './regularizer.js';
export { HnetMethod } from './methods/index.js';
export type { HnetMethodConfig } from './methods/index.js';
export { evaluateTask, predict } from './evaluate.js';
export type { TaskEvaluation, Prediction } from './evaluate.js';
export { averageAccuracy, backwardTransfer, forgetting } from './metrics.js';
export type { AccuracyMatrix } from './metrics.js';
export { ContinualTrainer } from './trainer.js';
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
