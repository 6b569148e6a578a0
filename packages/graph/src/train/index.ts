// GHN meta-training and evaluation: arch.ts (architectures, seeds, network inputs), config.ts
// (trainer options, learning-rate schedule), events.ts (events, results, checkpointed progress),
// trainer.ts (GhnTrainer), evaluate.ts (evaluateArchs).
export { netInput, archSeed, missingWeights, type ArchSample, type ArchSource } from './arch.js';
export { multiStepLr, type GhnTrainerOptions } from './config.js';
export type { GhnTrainEvent, GhnCurvePoint, GhnTrainResult } from './events.js';
export { GhnTrainer } from './trainer.js';
export { evaluateArchs, type EvaluateArchsOptions, type ArchEvaluation, type ArchsEvaluation } from './evaluate.js';
