export * from './errors/index.js';
export * from './params.js';
export * from './target.js';
export * from './state.js';
export * from './random.js';
export * from './init.js';
export {
  torchLayoutKind,
  torchShape,
  toTorchLayout,
  fromTorchLayout,
  toTorchWeights,
  fromTorchWeights,
} from './torch-layout.js';
export type { TorchLayoutKind } from './torch-layout.js';
export * from './ops/index.js';
export * from './adam.js';
export * from './memory.js';
export * from './backend/index.js';
export { registerTfjsGradients } from './tfjs-setup.js';
export * from './kernels/index.js';
export * from './nets/index.js';
export * from './io/index.js';
export * from './train/index.js';
