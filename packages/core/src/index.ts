// The public API of @hypernets/core, listed name by name: what users build on, under semver.
// What the other hypernets packages share but users should not depend on is in ./internal.ts
// (`@hypernets/core/internal`). The API report (api/index.api.md, `pnpm api`) shows every change.

// errors: one per file, checked with `XError.isInstance(e)`
export * from './errors/index.js';

// contracts: parameter specs, target nets, non-trainable state
export { paramSpec, countParams, checkWeights } from './params.js';
export type { ParamKind, ParamSpec, Weights, CheckWeightsOptions } from './params.js';
export type {
  ForwardOptions,
  TargetNet,
  StateSpec,
  SublayerHook,
  SublayerSite,
  HostRead,
  HostValues,
  HostReadLog,
  StagedForward,
} from './target.js';
export { replayHostReads, recordHostReads, forwardRecorded, hostReadsAreSynchronous } from './host-reads.js';
export { NetState } from './state.js';

// randomness and initialisation
export { Rng } from './random.js';
export { targetVariance, initWeights, createVariables } from './init.js';
export type { InitScheme } from './init.js';

// PyTorch's weight layout
export { torchShape, toTorchLayout, fromTorchLayout, toTorchWeights, fromTorchWeights } from './torch-layout.js';
export type { TorchLayoutKind } from './torch-layout.js';

// functional ops: pure tensor in, tensor out
export {
  linear,
  linearTorch,
  affine,
  activate,
  gelu,
  geluTanh,
  layerNormalize,
  groupNormalize,
  conv2d,
  pool2d,
  globalAvgPool,
  maxPoolPadded,
  avgPoolTorch,
  batchNorm,
  embeddingLookup,
  multiHeadAttention,
  lstmCell,
  lstmLayer,
  dilateKernel,
  depthwiseConv2dTorch,
  softmaxCrossEntropy,
  mse,
  accuracy,
  countCorrect,
  stopGradient,
} from './ops/index.js';
export type {
  Activation,
  Padding,
  PerSampleConvMethod,
  Conv2dOptions,
  PoolOptions,
  BatchNormCall,
  BatchNormSettings,
  TorchConvOptions,
  AttentionOptions,
  LstmActivations,
  LstmCellOptions,
  Labels,
} from './ops/index.js';

// target networks
export {
  ACTIVATIONS,
  MLP,
  CNN,
  lenet5,
  haMnist,
  ResNet,
  resnet20,
  resnet32,
  ImageNetResNet,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  SimpleRNN,
  LSTM,
  TransformerEncoder,
  sinusoidalPositions,
  DomainBedMnistCnn,
} from './nets/index.js';
export type {
  MLPConfig,
  CNNConfig,
  ConvLayerConfig,
  LeNetOptions,
  ResNetConfig,
  ShortcutOption,
  ImageNetResNetConfig,
  ImageNetResNetOptions,
  ResNetBlockType,
  RecurrentConfig,
  ResolvedRecurrentConfig,
  RecurrentOutput,
  TransformerEncoderConfig,
  ResolvedTransformerEncoderConfig,
  TransformerPooling,
  FeedForwardSublayer,
  DomainBedMnistCnnConfig,
} from './nets/index.js';

// training
export { Adam } from './adam.js';
export { clipByGlobalNorm } from './clip.js';
export type { AdamConfig } from './adam.js';
export { tidy, assertNoLeaks } from './memory.js';
export type {
  Trainer,
  RunOptions,
  TrainerCallbacks,
  TrainerEventBase,
  CallbackName,
  TrainingOptions,
} from './train/index.js';

// backends
export { BACKEND_ORDER, initBackend, shutdownBackend } from './backend/index.js';
export type {
  BackendName,
  BackendPreference,
  BackendInfo,
  InitBackendOptions,
  WasmBinaryName,
  NativeInfo,
  NativePreference,
} from './backend/index.js';

// files: safetensors, checkpoints, tfjs model.json
export {
  encodeSafetensors,
  decodeSafetensors,
  readSafetensorsHeader,
  readSafetensorsFile,
  tensorsToSafetensors,
  safetensorsToTensors,
  saveCheckpoint,
  loadCheckpoint,
  loadCheckpointIfAny,
  verifyCheckpoint,
  restoreVariables,
  restoreOptimizer,
  restoreNetState,
  restoreRng,
  restoreCheckpoint,
  importTfjsWeights,
  exportTfjsWeights,
  loadTfjsArtifacts,
  writeTfjsArtifacts,
} from './io/index.js';
export type {
  SafetensorsDtype,
  SafetensorsData,
  RawTensor,
  SafetensorsEntry,
  SafetensorsHeader,
  SafetensorsFile,
  EncodeOptions,
  DecodeOptions,
  ReadSafetensorsOptions,
  ReadSafetensorsResult,
  FloatStorage,
  TensorsToSafetensorsOptions,
  OptimizerMeta,
  NetStateMeta,
  CheckpointMeta,
  CheckpointPaths,
  CheckpointInput,
  SaveCheckpointOptions,
  SavedCheckpoint,
  Checkpoint,
  CheckpointLike,
  NamedTensor,
  LoadCheckpointOptions,
  VerifyCheckpointOptions,
  RestoreVariablesOptions,
  RestoreCheckpointOptions,
  WeightsManifestEntry,
  TfjsImport,
  TfjsWriteOptions,
  TfjsWriteResult,
  TfjsExportOptions,
} from './io/index.js';
