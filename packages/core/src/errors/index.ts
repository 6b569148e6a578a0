/**
 * Typed errors, one per file. Every message names the thing that was wrong (a ParamSpec entry,
 * a file, a backend) and says what to do about it. Test them with `X.isInstance(e)`, which holds
 * across duplicate package copies, rather than `instanceof`.
 */
export { HypernetsError } from './hypernets-error.js';
export { ShapeMismatchError } from './shape-mismatch-error.js';
export { BackendUnavailableError } from './backend-unavailable-error.js';
export { UnsupportedOpError } from './unsupported-op-error.js';
export { CheckpointError } from './checkpoint-error.js';
export { CheckpointConfigError } from './checkpoint-config-error.js';
export { ConfigError } from './config-error.js';
export { TensorLeakError } from './tensor-leak-error.js';
export { TrainingError } from './training-error.js';
