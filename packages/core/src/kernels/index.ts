// The wasm training-kernel pack, and gradients tfjs-core 4.22 lacks. Each kernel's file says
// what was wrong with tfjs's own and what was measured; ../../CHANGELOG.md keeps the history.
//
// registerWasmTrainingKernels() registers, for backend 'wasm':
//  - kernels tfjs-backend-wasm 4.22 lacks, without which conv nets and embeddings do not train
//    (registered only where none is, so a future wasm that ships its own wins):
//    Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter/Input, UnsortedSegmentSum
//    (gather's gradient), Einsum;
//  - replacements for wasm kernels that are wrong: MaxPoolGrad (all-≤0 windows lose their
//    gradient), StridedSlice (wrong dtype on its general path, wrong elements with a
//    shrinkAxisMask), BatchMatMul and _FusedMatMul on a buffer seen before under another shape
//    (XNNPACK caches its packed operator by buffer, not shape);
//  - replacements for wasm kernels that are slow: BatchMatMul (transposed operands),
//    Conv2DBackpropInput, Slice, SplitV, Tile, Sum (leading axes), Identity and Cast (copies of
//    every tensor a gradient saves), GatherV2 (element by element);
//  - wrappers of wasm's convolutions that note each filter buffer XNNPACK may cache
//    (XnnpackFilters.ts): native Adam never updates those in place.
//  A replacement forwards wasm's setup to the kernel it replaced and delegates the cases it does
//  not handle to it (originals.ts).
//
// registerTrainingGradients() (also called by registerWasmTrainingKernels) registers, for every
// backend, gradients tfjs-core 4.22 lacks: Einsum, StridedSlice, and zero gradients for
// comparisons and logical ops (masks built from a differentiated tensor); and replaces Tile's
// (one slice of dy per tile, fails above rank 4) and UnsortedSegmentSum's (a full-size boolean
// broadcast to mask negative ids). survey.test.ts runs the gradients of ~75 ops
// on wasm against cpu.
import * as tf from '@tensorflow/tfjs-core';
import { batchMatMulConfig, fusedMatMulConfig } from './BatchMatMul.js';
import { comparisonGradConfigs } from './Comparison_grad.js';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './DepthwiseConv2dNativeBackpropInput.js';
import { einsumConfig } from './Einsum.js';
import { einsumGradConfig } from './Einsum_grad.js';
import { castConfig, identityConfig } from './Identity.js';
import { maxPoolGradConfig } from './MaxPoolGrad.js';
import { setOriginalKernel } from './originals.js';
import { sliceConfig, splitVConfig } from './Slice.js';
import { stridedSliceConfig } from './StridedSlice.js';
import { sumConfig } from './Sum.js';
import { tileConfig } from './Tile.js';
import { stridedSliceGradConfig } from './StridedSlice_grad.js';
import { tileGradConfig } from './Tile_grad.js';
import { unsortedSegmentSumConfig } from './UnsortedSegmentSum.js';
import { unsortedSegmentSumGradConfig } from './UnsortedSegmentSum_grad.js';
import { gatherV2Config } from './GatherV2.js';
import {
  conv2DConfig,
  depthwiseConv2dNativeConfig,
  fusedConv2DConfig,
  fusedDepthwiseConv2DConfig,
} from './XnnpackFilters.js';

const KERNEL_CONFIGS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumConfig,
  einsumConfig,
];

/**
 * wasm has these, but wrong or slow: ours replace them. wasm's own kernel is recorded first
 * (originals.ts): all but MaxPoolGrad forward its setup and delegate cases to it.
 */
const REPLACEMENT_CONFIGS: readonly tf.KernelConfig[] = [
  maxPoolGradConfig,
  stridedSliceConfig,
  conv2DBackpropInputConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  sliceConfig,
  splitVConfig,
  tileConfig,
  sumConfig,
  identityConfig,
  castConfig,
  gatherV2Config,
  conv2DConfig,
  fusedConv2DConfig,
  depthwiseConv2dNativeConfig,
  fusedDepthwiseConv2DConfig,
];

const GRADIENT_CONFIGS: readonly tf.GradConfig[] = [einsumGradConfig, stridedSliceGradConfig, ...comparisonGradConfigs];

/** tfjs-core has these gradients, but slow: ours replace them (every backend). */
const REPLACED_GRADIENT_CONFIGS: readonly tf.GradConfig[] = [tileGradConfig, unsortedSegmentSumGradConfig];

/** Names of the kernels core provides for the 'wasm' backend (missing ones, then replacements). */
export const WASM_TRAINING_KERNELS: readonly string[] = Object.freeze(
  [...KERNEL_CONFIGS, ...REPLACEMENT_CONFIGS].map((c) => c.kernelName),
);

/** The subset of WASM_TRAINING_KERNELS that replaces a tfjs-backend-wasm kernel (faulty or slow). */
export const WASM_REPLACED_KERNELS: readonly string[] = Object.freeze(REPLACEMENT_CONFIGS.map((c) => c.kernelName));

/** Names of the kernels whose gradient core provides (for every backend, when tfjs-core has none). */
export const TRAINING_GRADIENTS: readonly string[] = Object.freeze(GRADIENT_CONFIGS.map((c) => c.kernelName));

/** Names of the kernels whose tfjs-core gradient core replaces (for every backend). */
export const REPLACED_GRADIENTS: readonly string[] = Object.freeze(REPLACED_GRADIENT_CONFIGS.map((c) => c.kernelName));

/**
 * Registers the gradients tfjs-core 4.22 lacks (TRAINING_GRADIENTS: Einsum, StridedSlice,
 * comparisons and logical ops), each unless one is already registered. Backend-independent.
 * Idempotent; returns the kernel names whose gradient it registered on this call.
 */
export function registerTrainingGradients(): string[] {
  const done: string[] = [];
  for (const g of GRADIENT_CONFIGS) {
    if (tf.getGradient(g.kernelName) != null) continue;
    tf.registerGradient(g);
    done.push(g.kernelName);
  }
  for (const g of REPLACED_GRADIENT_CONFIGS) {
    if (tf.getGradient(g.kernelName) === g) continue;
    tf.registerGradient(g);
    done.push(g.kernelName);
  }
  return done;
}

/**
 * Registers, for backend 'wasm', the training kernels tfjs-backend-wasm 4.22 lacks, replaces
 * its faulty MaxPoolGrad and StridedSlice and its slow Conv2DBackpropInput
 * (WASM_TRAINING_KERNELS, WASM_REPLACED_KERNELS), and registers the missing gradients
 * (registerTrainingGradients). Idempotent: a missing kernel already registered for 'wasm' is
 * left alone, a replacement already in place is not redone. Returns the names of the kernels
 * it (re)registered on this call.
 *
 * Safe before or after tf.setBackend('wasm'): the kernels get the backend at call time, and
 * a replacement forwards wasm's setup to the kernel it replaced (which it may delegate to).
 * Call it *after* importing '@tensorflow/tfjs-backend-wasm': the package registers its
 * kernels on import and would put its own MaxPoolGrad / StridedSlice / Conv2DBackpropInput
 * back (tfjs then warns "already registered"); calling this again after the import repairs
 * that (see registration.test.ts).
 */
export function registerWasmTrainingKernels(): string[] {
  const done: string[] = [];
  for (const c of KERNEL_CONFIGS) {
    if (tf.getKernel(c.kernelName, 'wasm') != null) continue;
    tf.registerKernel(c);
    done.push(c.kernelName);
  }
  for (const c of REPLACEMENT_CONFIGS) {
    const current = tf.getKernel(c.kernelName, 'wasm');
    if (current === c) continue;
    setOriginalKernel(c, current);
    if (current != null) tf.unregisterKernel(c.kernelName, 'wasm');
    tf.registerKernel(c);
    done.push(c.kernelName);
  }
  registerTrainingGradients();
  return done;
}
export { registerWebgpuKernelFixes, WEBGPU_FIXED_KERNELS } from './webgpu-fixes.js';
