// Sum for tfjs-backend-wasm — a REPLACEMENT, for speed.
//
// tfjs-backend-wasm 4.22 reduces over the innermost axes only: for any other axes it first
// transposes the whole input. Reducing over leading axes — every bias gradient (the batch
// axis), batch-norm statistics over [N, H, W] — thus cost a full transpose: [140, 78000] over
// axis 0 took 39 ms. Ours adds the rows up in place on the wasm heap (row by row, so reads are
// sequential), in float64 and rounded once: ~12 ms for [140, 78000] on fresh inputs.
//
// With @hypernets/native the same sum (the same order, float64, rounded once: the same bits) runs
// in its vectorised C loop (hnet-step: ~5% of the step in this JavaScript loop before).
//
// Not as a product ones[1, rows] · X on wasm's BatchMatMul (what this kernel did first): XNNPACK
// packs its right operand into an operator cached by tensor id, which is cheap only when the same
// X comes again (3.7 ms in a loop over one tensor); a gradient's X is new every step and the
// packing then cost 130-650 ms for [140, 78000] (tf.profile of the Permuted-MNIST step).
import * as tf from '@tensorflow/tfjs-core';
import { getOriginalKernel } from './originals.js';
import { nativeKernels } from './native-gemm.js';
import { asWasmBackend } from './wasm_util.js';

/** tfjs-backend-wasm's own Sum (the cases not handled here go to it). */
const wasmSum = () => getOriginalKernel(sumConfig);

export const sumConfig: tf.KernelConfig = {
  kernelName: tf.Sum,
  backendName: 'wasm',
  setupFunc: (backend) => wasmSum()?.setupFunc?.(backend),
  kernelFunc: (args) => {
    // invariant: tfjs-backend-wasm registers Sum before this pack replaces it (a bug here, not bad input).
    if (wasmSum() == null) throw new Error("@hypernets/core: tfjs-backend-wasm's Sum is not registered");
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    const rows = axes.reduce((p, a) => p * x.shape[a]!, 1);
    const cols = x.shape.slice(axes.length).reduce((p, d) => p * d, 1);
    if (x.dtype !== 'float32' || !leading || rows < 2 || cols === 0) return wasmSum()!.kernelFunc(args);
    const backend = asWasmBackend(args.backend, 'Sum');
    const outShape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    const out = backend.makeOutput(outShape, 'float32');
    const xs = backend.typedArrayFromHeap(x) as Float32Array; // views after makeOutput (it may grow memory)
    const os = backend.typedArrayFromHeap(out) as Float32Array;
    const sumRows = nativeKernels()?.sumRows;
    if (sumRows && xs.buffer instanceof ArrayBuffer) {
      sumRows(xs.buffer, { rows, cols, xOffset: xs.byteOffset / 4, outOffset: os.byteOffset / 4 });
      return out;
    }
    const acc = new Float64Array(cols);
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      // four rows per pass: a quarter of the accumulator traffic
      const o0 = r * cols,
        o1 = o0 + cols,
        o2 = o1 + cols,
        o3 = o2 + cols;
      for (let c = 0; c < cols; c++) acc[c] += xs[o0 + c]! + xs[o1 + c]! + xs[o2 + c]! + xs[o3 + c]!;
    }
    for (; r < rows; r++) {
      const off = r * cols;
      for (let c = 0; c < cols; c++) acc[c] += xs[off + c]!;
    }
    os.set(acc);
    return out;
  },
};
