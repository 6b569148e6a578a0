// BatchMatMul for 'wasm', replacing tfjs-backend-wasm 4.22's for speed: its transposed cases
// (transposeA / transposeB, which every matMul gradient uses) run 5-10x slower than an
// explicit Transpose followed by the untransposed product (measured on 2 cores, Node 20:
// [23,100]ᵀ·[23,4000] 19.8 ms vs 2.2 ms; [128,784]ᵀ·[128,100] 12.8 ms vs 1.2 ms;
// [128,100]·[784,100]ᵀ 12.4 ms vs 2.5 ms). So transposed operands are transposed with wasm's
// Transpose kernel and the product runs on wasm's own untransposed path.
import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, callWasmKernel } from './wasm_util.js';

let wasmOriginal: tf.KernelConfig | undefined;

/** Remembers tfjs-backend-wasm's own BatchMatMul, which this kernel delegates to. */
export function setOriginalBatchMatMul(config: tf.KernelConfig | undefined): void {
  if (config != null && config !== batchMatMulConfig) wasmOriginal = config;
}

function transposeLast2(backend: ReturnType<typeof asWasmBackend>, t: tf.TensorInfo): tf.TensorInfo {
  const r = t.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  const out = callWasmKernel('Transpose', backend, { x: t }, { perm });
  if (out == null) throw new Error("@hypernets/core: BatchMatMul needs wasm's Transpose kernel");
  return out;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  // wasm's kernel binds its C function in its setupFunc: forward it.
  setupFunc: (backend) => wasmOriginal?.setupFunc?.(backend),
  kernelFunc: (args) => {
    if (wasmOriginal == null) throw new Error("@hypernets/core: tfjs-backend-wasm's BatchMatMul is not registered");
    const { transposeA, transposeB } = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!transposeA && !transposeB) return wasmOriginal.kernelFunc(args);
    const backend = asWasmBackend(args.backend, 'BatchMatMul');
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const temps: tf.TensorInfo[] = [];
    try {
      const a2 = transposeA ? (temps[temps.length] = transposeLast2(backend, a)) : a;
      const b2 = transposeB ? (temps[temps.length] = transposeLast2(backend, b)) : b;
      return wasmOriginal.kernelFunc({ ...args, inputs: { a: a2, b: b2 }, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  },
};
