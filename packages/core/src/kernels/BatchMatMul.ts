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

/**
 * wasm's untransposed product (XNNPACK's fully-connected operator) packs `b` into an operator it
 * caches under b's tensor id alone, not its shape (tfjs-backend-wasm's batch_mat_mul_impl.cc:
 * key {b_id, bias_id, activation}). Data ids are shared — Reshape, Identity, Einsum's operand
 * layouts — so the same buffer can come again as a [K', N'] with K'·N' = K·N, and the cached
 * [K, N] operator would then read and write out of bounds. So the (K, N) each buffer was first
 * multiplied as is remembered, and a buffer that comes with another (K, N) is copied to a fresh
 * one for that product (rare; the copy is what a non-shared buffer would have cost anyway).
 */
const bShapes = new WeakMap<object, string>();

/**
 * Packing `b` is the expensive part of a product whose b is new and large next to a: XNNPACK
 * packs [K, N] ~5x slower per element than wasm's Transpose moves it (the regulariser's
 * [25, 140] · [140, 78000] spent ~200 of its ~230 ms packing). Then C = (bᵀ · aᵀ)ᵀ is cheaper:
 * two transposes (K·N and M·N elements) and a packed aᵀ of M·K. Chosen when b is not cached
 * and K·N ≥ 2¹⁶, by that cost model (packing = 5 transposed elements): K·N + M·N + 5·M·K < 5·K·N.
 */
function swapPays(M: number, K: number, N: number): boolean {
  return K * N >= 1 << 16 && K * N + M * N + 5 * M * K < 5 * K * N;
}

function untransposed(backend: ReturnType<typeof asWasmBackend>, args: Parameters<tf.KernelFunc>[0], a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const r = b.shape.length;
  const [K, N] = [b.shape[r - 2]!, b.shape[r - 1]!];
  const key = `${K}x${N}`;
  const seen = bShapes.get(b.dataId);
  const batch1 = a.shape.slice(0, -2).every((d) => d === 1) && b.shape.slice(0, -2).every((d) => d === 1);
  if (seen === undefined && batch1 && a.dtype === 'float32' && swapPays(a.shape[a.shape.length - 2]!, K, N)) {
    const M = a.shape[a.shape.length - 2]!;
    const bT = transposeLast2(backend, b);
    const aT = transposeLast2(backend, a);
    bShapes.set(aT.dataId, `${K}x${M}`);
    let cT: tf.TensorInfo | undefined;
    try {
      cT = wasmOriginal!.kernelFunc({ ...args, inputs: { a: bT, b: aT } }) as tf.TensorInfo; // [.., N, M]
      return transposeLast2(backend, cT);
    } finally {
      backend.disposeData(bT.dataId);
      backend.disposeData(aT.dataId);
      if (cT) backend.disposeData(cT.dataId);
    }
  }
  if (seen === undefined) bShapes.set(b.dataId, key);
  if (seen === undefined || seen === key) return wasmOriginal!.kernelFunc({ ...args, inputs: { a, b } }) as tf.TensorInfo;
  const copy = backend.makeOutput([...b.shape], b.dtype);
  backend.typedArrayFromHeap(copy).set(backend.typedArrayFromHeap(b)); // views after makeOutput (it may grow memory)
  bShapes.set(copy.dataId, key);
  try {
    return wasmOriginal!.kernelFunc({ ...args, inputs: { a, b: copy } }) as tf.TensorInfo;
  } finally {
    backend.disposeData(copy.dataId);
  }
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  // wasm's kernel binds its C function in its setupFunc: forward it.
  setupFunc: (backend) => wasmOriginal?.setupFunc?.(backend),
  kernelFunc: (args) => {
    if (wasmOriginal == null) throw new Error("@hypernets/core: tfjs-backend-wasm's BatchMatMul is not registered");
    const { transposeA, transposeB } = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    const backend = asWasmBackend(args.backend, 'BatchMatMul');
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (!transposeA && !transposeB) return untransposed(backend, args, a, b);
    const temps: tf.TensorInfo[] = [];
    try {
      const a2 = transposeA ? (temps[temps.length] = transposeLast2(backend, a)) : a;
      const b2 = transposeB ? (temps[temps.length] = transposeLast2(backend, b)) : b;
      return untransposed(backend, { ...args, attrs: { ...args.attrs, transposeA: false, transposeB: false } }, a2, b2);
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  },
};
