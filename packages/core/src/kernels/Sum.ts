// Sum for tfjs-backend-wasm — a REPLACEMENT, for speed.
//
// tfjs-backend-wasm 4.22 reduces over the innermost axes only: for any other axes it first
// transposes the whole input. Reducing over leading axes — every bias gradient (the batch
// axis), batch-norm statistics over [N, H, W] — thus cost a full transpose: [140, 78000] over
// axis 0 took 39 ms, against 3 ms for the same sum as a product ones[1, 140] · X[140, 78000]
// on wasm's BatchMatMul (XNNPACK) (2 cores, Node 20). Ours does that for float32 reductions
// over a leading block of axes; everything else goes to wasm's own Sum.
import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, callWasmKernel } from './wasm_util.js';

let wasmSum: tf.KernelConfig | undefined;

/** Remembers tfjs-backend-wasm's own Sum (the cases not handled here go to it). */
export function setOriginalSum(config: tf.KernelConfig | undefined): void {
  if (config != null && config !== sumConfig) wasmSum = config;
}

export const sumConfig: tf.KernelConfig = {
  kernelName: tf.Sum,
  backendName: 'wasm',
  setupFunc: (backend) => wasmSum?.setupFunc?.(backend),
  kernelFunc: (args) => {
    if (wasmSum == null) throw new Error("@hypernets/core: tfjs-backend-wasm's Sum is not registered");
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    const rows = axes.reduce((p, a) => p * x.shape[a]!, 1);
    const cols = x.shape.slice(axes.length).reduce((p, d) => p * d, 1);
    if (x.dtype !== 'float32' || !leading || rows < 2 || cols === 0) return wasmSum.kernelFunc(args);
    const backend = asWasmBackend(args.backend, 'Sum');
    const ones = backend.makeOutput([1, 1, rows], 'float32');
    backend.typedArrayFromHeap(ones).fill(1);
    const x3 = callWasmKernel('Reshape', backend, { x }, { shape: [1, rows, cols] });
    if (x3 == null) throw new Error("@hypernets/core: Sum needs wasm's Reshape kernel");
    try {
      const y = callWasmKernel('BatchMatMul', backend, { a: ones, b: x3 }, { transposeA: false, transposeB: false });
      if (y == null) throw new Error("@hypernets/core: Sum needs wasm's BatchMatMul kernel");
      const outShape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
      const out = callWasmKernel('Reshape', backend, { x: y }, { shape: outShape })!;
      backend.disposeData(y.dataId);
      return out;
    } finally {
      backend.disposeData(ones.dataId);
      backend.disposeData(x3.dataId);
    }
  },
};
