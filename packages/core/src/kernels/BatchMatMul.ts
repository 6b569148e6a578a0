// BatchMatMul for 'wasm', replacing tfjs-backend-wasm 4.22's for speed: its transposed cases
// (transposeA / transposeB, which every matMul gradient uses) run 5-10x slower than an
// explicit Transpose followed by the untransposed product (measured on 2 cores, Node 20:
// [23,100]ᵀ·[23,4000] 19.8 ms vs 2.2 ms; [128,784]ᵀ·[128,100] 12.8 ms vs 1.2 ms;
// [128,100]·[784,100]ᵀ 12.4 ms vs 2.5 ms). So transposed operands are transposed with wasm's
// Transpose kernel and the product runs on wasm's own untransposed path.
import * as tf from '@tensorflow/tfjs-core';
import { getOriginalKernel } from './originals.js';
import { nativeBatchMatMul, nativeFusedMatMul } from './native-gemm.js';
import { asWasmBackend, callWasmKernel } from './wasm_util.js';

/** tfjs-backend-wasm's own BatchMatMul, which this kernel delegates to. */
const wasmOriginal = () => getOriginalKernel(batchMatMulConfig);

function transposeLast2(backend: ReturnType<typeof asWasmBackend>, t: tf.TensorInfo): tf.TensorInfo {
  const r = t.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  const out = callWasmKernel('Transpose', backend, { x: t }, { perm });
  // invariant: tfjs-backend-wasm always registers Transpose (a bug here, not bad input).
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
/** Both operands are single matrices (any leading dims are 1): where the swaps apply. */
function isBatch1(a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  return a.shape.slice(0, -2).every((d) => d === 1) && b.shape.slice(0, -2).every((d) => d === 1);
}

function swapPays(M: number, K: number, N: number): boolean {
  return K * N >= 1 << 16 && K * N + M * N + 5 * M * K < 5 * K * N;
}

function untransposed(
  backend: ReturnType<typeof asWasmBackend>,
  args: Parameters<tf.KernelFunc>[0],
  a: tf.TensorInfo,
  b: tf.TensorInfo,
): tf.TensorInfo {
  const r = b.shape.length;
  const [K, N] = [b.shape[r - 2]!, b.shape[r - 1]!];
  const seen = bShapes.get(b.dataId);
  if (seen === undefined && isBatch1(a, b) && a.dtype === 'float32' && swapPays(a.shape[a.shape.length - 2]!, K, N)) {
    const bT = transposeLast2(backend, b);
    try {
      return transposedProduct(backend, args, bT, transposeLast2(backend, a));
    } finally {
      backend.disposeData(bT.dataId);
    }
  }
  return withCacheSafeB(
    backend,
    b,
    seen,
    (safe) => wasmOriginal()!.kernelFunc({ ...args, inputs: { a, b: safe } }) as tf.TensorInfo,
  );
}

/**
 * (left · right)ᵀ, untransposed product on wasm's kernel, for the (bᵀ·aᵀ)ᵀ swaps: `right` is a
 * fresh transpose this call owns (XNNPACK packs it, cached under its own id) and frees.
 */
function transposedProduct(
  backend: ReturnType<typeof asWasmBackend>,
  args: Parameters<tf.KernelFunc>[0],
  left: tf.TensorInfo,
  right: tf.TensorInfo,
): tf.TensorInfo {
  const r = right.shape.length;
  bShapes.set(right.dataId, `${right.shape[r - 2]!}x${right.shape[r - 1]!}`);
  let c: tf.TensorInfo | undefined;
  try {
    c = wasmOriginal()!.kernelFunc({
      ...args,
      inputs: { a: left, b: right },
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    }) as tf.TensorInfo;
    return transposeLast2(backend, c);
  } finally {
    backend.disposeData(right.dataId);
    if (c) backend.disposeData(c.dataId);
  }
}

/**
 * Runs `run` on b itself when its buffer is new to XNNPACK's cache (recording its [K, N]) or was
 * first multiplied with the same [K, N]; otherwise on a fresh copy of it, freed afterwards.
 * `seen` is bShapes' entry for b, when the caller has looked it up already.
 */
function withCacheSafeB(
  backend: ReturnType<typeof asWasmBackend>,
  b: tf.TensorInfo,
  seen: string | undefined,
  run: (b: tf.TensorInfo) => tf.TensorInfo,
): tf.TensorInfo {
  const r = b.shape.length;
  const key = `${b.shape[r - 2]!}x${b.shape[r - 1]!}`;
  if (seen === undefined) bShapes.set(b.dataId, key);
  if (seen === undefined || seen === key) return run(b);
  const copy = backend.makeOutput([...b.shape], b.dtype);
  backend.typedArrayFromHeap(copy).set(backend.typedArrayFromHeap(b)); // views after makeOutput (it may grow memory)
  bShapes.set(copy.dataId, key);
  try {
    return run(copy);
  } finally {
    backend.disposeData(copy.dataId);
  }
}

/** Transposes the last two axes of a and/or b as the attrs ask, runs `run` on the results untransposed, frees the temporaries. */
function withExplicitTransposes(
  backend: ReturnType<typeof asWasmBackend>,
  args: Parameters<tf.KernelFunc>[0],
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  run: (args: Parameters<tf.KernelFunc>[0], a: tf.TensorInfo, b: tf.TensorInfo) => tf.TensorInfo,
): tf.TensorInfo {
  const { transposeA, transposeB } = args.attrs as { transposeA?: boolean; transposeB?: boolean };
  if (!transposeA && !transposeB) return run(args, a, b);
  const temps: tf.TensorInfo[] = [];
  try {
    const a2 = transposeA ? (temps[temps.length] = transposeLast2(backend, a)) : a;
    const b2 = transposeB ? (temps[temps.length] = transposeLast2(backend, b)) : b;
    return run({ ...args, attrs: { ...args.attrs, transposeA: false, transposeB: false } }, a2, b2);
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/**
 * a · bᵀ (transposeB only, every gradient w.r.t. a matMul's left operand) with b [N, K] large
 * next to a [M, K]: the general path would transpose b to [K, N], and then, the swap paying
 * (swapPays), transpose it back to multiply (bᵀ)ᵀ · aᵀ. Here b goes in as it is:
 * C = (b · aᵀ)ᵀ, one transpose of a and one of C. Null when the swap does not pay.
 */
function aTimesBT(
  backend: ReturnType<typeof asWasmBackend>,
  args: Parameters<tf.KernelFunc>[0],
  a: tf.TensorInfo,
  b: tf.TensorInfo,
): tf.TensorInfo | null {
  const { transposeA, transposeB } = args.attrs as { transposeA?: boolean; transposeB?: boolean };
  if (transposeA || !transposeB || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const [M, K] = a.shape.slice(-2) as [number, number];
  const N = b.shape[b.shape.length - 2]!;
  if (!isBatch1(a, b) || !swapPays(M, K, N)) return null;
  return transposedProduct(backend, args, b, transposeLast2(backend, a)); // b [.., N, K] · aᵀ [.., K, M], transposed
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  // wasm's kernel binds its C function in its setupFunc: forward it.
  setupFunc: (backend) => wasmOriginal()?.setupFunc?.(backend),
  kernelFunc: (args) => {
    // invariant: tfjs-backend-wasm registers BatchMatMul before this pack replaces it (a bug here, not bad input).
    if (wasmOriginal() == null) throw new Error("@hypernets/core: tfjs-backend-wasm's BatchMatMul is not registered");
    const backend = asWasmBackend(args.backend, 'BatchMatMul');
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    const native = nativeBatchMatMul(backend, a, b, !!transposeA, !!transposeB);
    if (native) return native;
    const swapped = aTimesBT(backend, args, a, b);
    if (swapped) return swapped;
    return withExplicitTransposes(backend, args, a, b, (args2, a2, b2) => untransposed(backend, args2, a2, b2));
  },
};

/** tfjs-backend-wasm's own _FusedMatMul, which this kernel delegates to. */
const wasmFusedOriginal = () => getOriginalKernel(fusedMatMulConfig);

/**
 * _FusedMatMul (tf.fused.matMul: matMul + bias + activation, what tfjs-layers' Dense runs) for
 * 'wasm': wasm's own, with the same guard as BatchMatMul against XNNPACK's operator cache (keyed
 * by b's buffer, bias and activation, not by shape; the same buffer reshaped gave products off
 * by 2.5 on a 4x6 case) and transposed operands transposed explicitly first (so a cached
 * operator never meets its buffer in the other layout).
 */
export const fusedMatMulConfig: tf.KernelConfig = {
  kernelName: '_FusedMatMul',
  backendName: 'wasm',
  setupFunc: (backend) => wasmFusedOriginal()?.setupFunc?.(backend),
  kernelFunc: (args) => {
    // invariant: tfjs-backend-wasm registers _FusedMatMul before this pack replaces it (a bug here, not bad input).
    if (wasmFusedOriginal() == null)
      throw new Error("@hypernets/core: tfjs-backend-wasm's _FusedMatMul is not registered");
    const backend = asWasmBackend(args.backend, '_FusedMatMul');
    const native = nativeFusedMatMul(backend, args);
    if (native) return native;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    return withExplicitTransposes(backend, args, a, b, (args2, a2, b2) =>
      withCacheSafeB(
        backend,
        b2,
        bShapes.get(b2.dataId),
        (safe) =>
          wasmFusedOriginal()!.kernelFunc({ ...args2, inputs: { ...args2.inputs, a: a2, b: safe } }) as tf.TensorInfo,
      ),
    );
  },
};
