// Slice and SplitV for tfjs-backend-wasm — REPLACEMENTS, for speed.
//
// tfjs-backend-wasm 4.22's Slice reads its input with `backend.readSync`, which copies the
// whole input off the wasm heap, before copying the slice out; SplitV calls that Slice once
// per piece. Splitting a flat 2,126,100-float hypernetwork output into its 6 target tensors
// thus copied 8.5 MB six times: 51 ms of a 400 ms Permuted-MNIST training step (measured on
// 2 cores, Node 20). Ours copies a contiguous slice straight from a heap view of the input
// (no intermediate copy); non-contiguous slices still go to wasm's own Slice.
import * as tf from '@tensorflow/tfjs-core';
import { getOriginalKernel } from './originals.js';
import { asWasmBackend, computeStrides, type WasmBackendLike } from './wasm_util.js';

/** tfjs-backend-wasm's own Slice (non-contiguous slices are delegated to it). */
const wasmSlice = () => getOriginalKernel(sliceConfig);

/** tfjs-backend-wasm's own SplitV (only its setup is forwarded). */
const wasmSplitV = () => getOriginalKernel(splitVConfig);

type KernelArgs = Parameters<tf.KernelFunc>[0];

function sliceOf(
  backend: WasmBackendLike,
  args: KernelArgs,
  x: tf.TensorInfo,
  begin: number[],
  size: number[],
): tf.TensorInfo {
  if (x.dtype === 'string') {
    // invariant: tfjs-backend-wasm registers Slice before this pack replaces it (a bug here, not bad input).
    if (wasmSlice() == null) throw new Error("@hypernets/core: tfjs-backend-wasm's Slice is not registered");
    return wasmSlice()!.kernelFunc({ ...args, inputs: { x }, attrs: { begin, size } }) as tf.TensorInfo;
  }
  const out = backend.makeOutput(size, x.dtype);
  const n = size.reduce((a, b) => a * b, 1);
  if (n === 0) return out;
  // views taken after makeOutput, which may grow (and detach) wasm memory
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const shape = x.shape;
  const strides = computeStrides(shape);
  // the copy runs over whole rows: trailing axes taken in full, plus the last partial one
  let inner = shape.length - 1;
  let run = size[inner] ?? 1;
  while (inner > 0 && size[inner] === shape[inner]) run *= size[--inner]!;
  if (shape.length === 0) {
    dst[0] = src[0]!;
    return out;
  }
  const outer = size.slice(0, inner);
  const idx = new Array<number>(inner).fill(0);
  let off = begin.reduce((a, b, i) => a + b * (strides[i] ?? 1), 0);
  const rows = outer.reduce((a, b) => a * b, 1);
  for (let r = 0, o = 0; r < rows; r++, o += run) {
    dst.set(src.subarray(off, off + run), o);
    for (let ax = inner - 1; ax >= 0; ax--) {
      idx[ax]!++;
      off += strides[ax]!;
      if (idx[ax]! < outer[ax]!) break;
      off -= strides[ax]! * outer[ax]!;
      idx[ax] = 0;
    }
  }
  return out;
}

export const sliceConfig: tf.KernelConfig = {
  kernelName: tf.Slice,
  backendName: 'wasm',
  setupFunc: (backend) => wasmSlice()?.setupFunc?.(backend),
  kernelFunc: (args) => {
    const backend = asWasmBackend(args.backend, 'Slice');
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, begin, size);
    return sliceOf(backend, args, x, b, s);
  },
};

export const splitVConfig: tf.KernelConfig = {
  kernelName: tf.SplitV,
  backendName: 'wasm',
  setupFunc: (backend) => wasmSplitV()?.setupFunc?.(backend),
  kernelFunc: (args) => {
    const backend = asWasmBackend(args.backend, 'SplitV');
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.TensorInfo as tf.Tensor, numOrSizeSplits, ax);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((n) => {
      const size = [...x.shape];
      size[ax] = n;
      const piece = sliceOf(backend, args, x, [...begin], size);
      begin[ax]! += n;
      return piece;
    });
  },
};
