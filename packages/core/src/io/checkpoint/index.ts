// Checkpoints, split by step: meta.ts (format, metadata schema), paths.ts, run-state.ts (optimizer,
// NetState and RNG state), save.ts, load.ts (load, verify, run-config check), restore.ts.
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  OPTIMIZER_PREFIX,
  STATE_PREFIX,
  type NamedTensor,
  type OptimizerMeta,
  type NetStateMeta,
  type CheckpointMeta,
} from './meta.js';
export { checkpointPaths, type CheckpointPaths } from './paths.js';
export { optimizerState, netStateTensors, type OptimizerState } from './run-state.js';
export { saveCheckpoint, type CheckpointInput, type SaveCheckpointOptions, type SavedCheckpoint } from './save.js';
export {
  loadCheckpoint,
  loadCheckpointIfAny,
  verifyCheckpoint,
  assertSameRunConfig,
  type Checkpoint,
  type CheckpointLike,
  type LoadCheckpointOptions,
  type VerifyCheckpointOptions,
} from './load.js';
export {
  restoreVariables,
  restoreOptimizer,
  restoreNetState,
  restoreRng,
  restoreCheckpoint,
  type RestoreVariablesOptions,
  type RestoreCheckpointOptions,
} from './restore.js';
