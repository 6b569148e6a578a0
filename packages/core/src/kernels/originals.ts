// tfjs-backend-wasm's own kernels that the pack replaced, by kernel name. A replacement
// forwards wasm's setupFunc to the kernel it replaced and delegates to it the cases it does not
// handle (string tensors, other dtypes, non-contiguous slices, …). registerWasmTrainingKernels
// (index.ts) records each one before it unregisters it.
import type * as tf from '@tensorflow/tfjs-core';

const originalKernels = new Map<string, tf.KernelConfig>();

/**
 * Records `current`, the kernel registered for `replacement`'s name before the pack replaces it
 * (nothing when none was registered, or when it is the replacement itself).
 */
export function setOriginalKernel(replacement: tf.KernelConfig, current: tf.KernelConfig | undefined): void {
  if (current != null && current !== replacement) originalKernels.set(replacement.kernelName, current);
}

/** tfjs-backend-wasm's own kernel that `replacement` replaced, if the pack recorded one. */
export function getOriginalKernel(replacement: tf.KernelConfig): tf.KernelConfig | undefined {
  return originalKernels.get(replacement.kernelName);
}
