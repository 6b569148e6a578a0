// What every trainer shares: the options (options.ts), callbacks (callbacks.ts), the checkpoint
// of a run (run-checkpoint.ts), the step loop (step-loop.ts) and the Trainer shape (trainer.ts).
export { trainingOptionsSchema, objectOption, parseTrainingOptions, type TrainingOptions } from './options.js';
export {
  callbackName,
  eventEmitter,
  type CallbackName,
  type TrainerCallbacks,
  type TrainerEventBase,
} from './callbacks.js';
export { RunCheckpoint, type RunCheckpointOptions, type RunSave } from './run-checkpoint.js';
export { BestSnapshot } from './best-snapshot.js';
export { runSteps, type StepLoopOptions, type StepLoopHooks } from './step-loop.js';
export type { Trainer, RunOptions } from './trainer.js';
export { boundedArray, rngStateSchema, samplerStateSchema } from './schemas.js';
