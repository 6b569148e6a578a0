// @hypernets/core/internal: what the hypernets packages and apps share with each other but users
// should not build on. No semver promise: any release may change or remove these. Everything
// users need is in ./index.ts.

// shape and config checks
export { numel, sameShape } from './params.js';
export { checkPositiveInt } from './nets/validate.js';
export { initArray, initTensor } from './init.js';
export { torchLayoutKind } from './torch-layout.js';

// pieces of ops and target nets that other packages' nets reuse
export {
  convGeometry,
  convSpecs,
  im2col,
  resolvePerSampleConvMethod,
  subsample2,
  batchNormSpecs,
  batchNormStateSpecs,
  layerNormSpecs,
  BN_MOMENTUM,
  BN_EPS,
} from './ops/index.js';
export type { ConvGeometry } from './ops/index.js';
export { denseSpecs, zeroPadShortcut } from './nets/index.js';

// kernels and gradients that initBackend registers
export { setNativeGemm, nativeGemmActive } from './kernels/native-gemm.js';
export type { NativeGemmLike } from './kernels/native-gemm.js';
export { registerTfjsGradients } from './tfjs-setup.js';
export {
  WASM_TRAINING_KERNELS,
  WASM_REPLACED_KERNELS,
  TRAINING_GRADIENTS,
  REPLACED_GRADIENTS,
  registerTrainingGradients,
  registerWasmTrainingKernels,
  registerWebgpuKernelFixes,
  WEBGPU_FIXED_KERNELS,
} from './kernels/index.js';

// file formats below the public readers and writers
export {
  SAFETENSORS_DTYPES,
  MAX_HEADER_BYTES,
  MAX_METADATA_ENTRIES,
  MAX_RANK,
  dtypeSize,
  isSafetensorsDtype,
  float32ToFloat16,
  float16ToFloat32,
  float32ToBfloat16,
  bfloat16ToFloat32,
  encodeSafetensorsChunks,
  decodeSafetensorsHeader,
  tensorsToRaw,
  rawToTensors,
  writeFileAtomic,
  writeFilesAtomic,
  removeOrphanTemps,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  OPTIMIZER_PREFIX,
  STATE_PREFIX,
  checkpointPaths,
  assertSameRunConfig,
  optimizerState,
  netStateTensors,
} from './io/index.js';
export { MAX_JSON_DEPTH, parseBoundedJson } from './io/bounded-json.js';
export type { AtomicData, AtomicFile, AtomicWriteOptions, OptimizerState } from './io/index.js';

// the kit every trainer is built from (core/src/train)
export {
  trainingOptionsSchema,
  parseTrainingOptions,
  objectOption,
  callbackName,
  eventEmitter,
  RunCheckpoint,
  BestSnapshot,
  runSteps,
  boundedArray,
  rngStateSchema,
  samplerStateSchema,
} from './train/index.js';
export type { RunCheckpointOptions, RunSave, StepLoopOptions, StepLoopHooks } from './train/index.js';
