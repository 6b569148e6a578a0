// Training kernels for @tensorflow/tfjs-backend-wasm 4.22, and gradients tfjs-core 4.22 lacks.
//
// registerWasmTrainingKernels() registers, for backend 'wasm':
//
//  Missing in tfjs-backend-wasm 4.22 (registered only if tf.getKernel(name, 'wasm') is empty,
//  so a future tfjs-backend-wasm that ships its own wins):
//   Conv2DBackpropFilter                 gradient of conv2d w.r.t. its filter (every conv net's
//                                        weights). im2col on the wasm heap + the wasm BatchMatMul
//                                        kernel (XNNPACK), batch-chunked; pure-JS fallback.
//   DepthwiseConv2dNativeBackpropFilter  gradient of depthwiseConv2d w.r.t. its filter.
//   DepthwiseConv2dNativeBackpropInput   gradient of depthwiseConv2d w.r.t. its input.
//   UnsortedSegmentSum                   gradient of gather (GatherV2): every embedding lookup.
//   Einsum                               forward einsum; wasm has none at all. One or two
//                                        operands, like tfjs-core's cpu kernel; two float32
//                                        operands go through BatchMatMul.
//
//  Replaced because tfjs-backend-wasm 4.22's own kernel is wrong:
//   MaxPoolGrad                          wasm's C++ seeds the window maximum with
//                                        numeric_limits<float>::min() (> 0), so windows whose
//                                        values are all <= 0 lose their gradient (error 1.0 vs
//                                        cpu in survey.test.ts). Replaced by a JS kernel that
//                                        routes dy to the first maximum, like cpu.
//   StridedSlice                         on its general path wasm labels the output float32
//                                        whatever the input dtype (int32 1 → 1.4e-45), and with
//                                        a shrinkAxisMask reads the wrong elements (as cpu does).
//                                        Plain float32 slices still go to wasm's kernel.
//
//  Replaced for speed (wasm's is correct but slow):
//   BatchMatMul                          with transposeA/transposeB (every matMul gradient)
//                                        wasm's is 5-10x slower than Transpose + its own
//                                        untransposed product; ours does exactly that, and
//                                        a product with a large new b and a short a runs as
//                                        (bᵀ·aᵀ)ᵀ (XNNPACK packs b slowly; BatchMatMul.ts).
//   Conv2DBackpropInput                  gradient of conv2d w.r.t. its input (and the forward
//                                        of conv2dTranspose). wasm's is a direct C++ loop,
//                                        6-13x slower than the forward conv on ResNet-20/LeNet
//                                        shapes; ours is BatchMatMul (XNNPACK) + JS col2im,
//                                        3.4-6.6x faster on ResNet-20 layers (batch 32),
//                                        1.2-3.3x on LeNet's (batch 64).
//                                        Falls back to wasm's if BatchMatMul is absent.
//   Slice, SplitV                        wasm's Slice copies the whole input off the heap
//                                        before taking the slice (SplitV: once per piece);
//                                        ours copies contiguous slices from a heap view
//                                        (splitting a 2.1M-float hypernet output: 51 ms → see
//                                        Slice.ts). String tensors go to wasm's.
//   Tile                                 wasm's walks the output element by element (1.7 s of
//                                        a 3.0 s GHN-2 prediction for ResNet-50); ours copies
//                                        whole blocks, one axis at a time (Tile.ts).
//   _FusedMatMul                         wasm's, guarded like BatchMatMul: XNNPACK caches the
//                                        packed b by buffer id, so the same buffer reshaped
//                                        gave wrong products (off by 2.5 on a 4x6 case).
//   Sum                                  over leading axes (bias gradients, BN statistics)
//                                        wasm transposes the whole input first; ours adds the
//                                        rows up on the heap, ~3x faster (Sum.ts).
//   Identity, Cast (same dtype)          wasm copies; tfjs clones every tensor a gradient
//                                        saves, so each step copied its activations. Ours
//                                        share the data id, as cpu and wasm's Reshape do.
//
// registerTrainingGradients() (also called by registerWasmTrainingKernels) registers, for
// every backend, gradients tfjs-core 4.22 lacks (only if none is registered):
//   Einsum                               tf.grad through tf.einsum fails everywhere without it.
//   Tile (replaced, every backend)       tfjs-core's adds one slice of dy per tile (Π reps
//                                        kernels) and fails above rank 4; ours is a reshape
//                                        and one sum (Tile_grad.ts).
//   StridedSlice                         likewise for tf.stridedSlice (any masks).
//   Greater, Less, LessEqual, Equal,     zero gradients: without them tf.grad fails on any
//   NotEqual, LogicalAnd/Or/Xor/Not      mask built from a differentiated tensor
//                                        (tf.where(tf.greater(x, 0), …)).
//
// Checked and left alone (present and matching cpu in survey.test.ts, which runs tf.grads of
// ~75 ops our networks train with on wasm against cpu): AvgPoolGrad,
// EluGrad, ResizeBilinearGrad, ResizeNearestNeighborGrad, BatchMatMul,
// FusedConv2D, Select, ClipByValue, Softmax, Erf, Prelu, MirrorPad, Cumsum, … . Other kernels
// cpu has and wasm lacks (Complex/FFT/IFFT/Real/Imag/ComplexAbs, RaggedGather/Range/
// TensorToTensor, StaticRegexReplace, Draw) are not used in training; cpu's "BatchNorm" is
// wasm's FusedBatchNorm.
//
// tfjs limitations found (not fixable here):
//  - tfjs-core's main entry registers no gradients: the program must import
//    '@tensorflow/tfjs-core/dist/register_all_gradients' (the @tensorflow/tfjs union does).
//  - Prod's gradient (and GatherV2's with batchDims > 0) calls chained tensor methods
//    (x.reshape(...)), which exist only after importing
//    '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops'.
//  - conv2d / depthwiseConv2d gradients reject dilations > 1 (tfjs-core asserts); the kernels
//    here do honour dilations when called directly.
//  - cpu's UnsortedSegmentSum accepts only 1-D segment ids and cpu's Einsum rejects labels
//    private to both operands ('ab,cd->ac'); the wasm kernels here handle both.
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
];

const GRADIENT_CONFIGS: readonly tf.GradConfig[] = [einsumGradConfig, stridedSliceGradConfig, ...comparisonGradConfigs];

/** tfjs-core has these gradients, but slow: ours replace them (every backend). */
const REPLACED_GRADIENT_CONFIGS: readonly tf.GradConfig[] = [tileGradConfig];

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
