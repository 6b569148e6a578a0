// @hypernets/continual/internal: shared with the CLI and tests; no semver promise.
export {
  headLogits,
  activeLogits,
  activeLabels,
  classIncremental,
  taskLoss,
  softmaxEntropy,
  softmaxLogEntropy,
} from './scenario.js';
export { headMasks } from './regularizer.js';
export { taskSeed } from './trainer.js';
