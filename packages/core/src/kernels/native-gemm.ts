// f32 matrix products of the wasm backend run by @hypernets/native (OpenBLAS, AVX2/FMA) instead
// of XNNPACK (wasm SIMD128, no FMA) when initBackend found the addon. Operands stay where they
// are, on the wasm heap: the addon multiplies in place on WebAssembly.Memory's buffer, given
// float offsets (it checks them against the buffer before BLAS runs). Every f32 product goes
// this one way then, so XNNPACK's buffer-keyed operator cache (see BatchMatMul.ts) never sees a
// buffer whose contents changed. Anything else (other dtypes, batch shapes tfjs would broadcast
// in several dimensions, fused activations we do not compute) returns null: the caller runs
// tfjs's own kernel.
import * as tf from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './wasm_util.js';

/** One batched product (offsets and strides in floats), as @hypernets/native's `sgemm` takes it. */
export interface GemmCallLike {
  transA: boolean;
  transB: boolean;
  batch: number;
  M: number;
  N: number;
  K: number;
  aOffset: number;
  aStride: number;
  bOffset: number;
  bStride: number;
  cOffset: number;
  cStride: number;
}

/** Adam's constants for one step, as numbers the op path turns into float32 scalars. */
export interface AdamConstants {
  /** torch.optim.Adam's L2 decay, added to the gradient (0 for AdamW). */
  weightDecay: number;
  /** AdamW's 1 − lr·weightDecay, multiplying θ before the step (1 for Adam). */
  shrink: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  biasCorrection2: number;
  eps: number;
  scale: number;
}

/**
 * The slice of @hypernets/native's `NativeKernels` that core uses (typed here, structurally: the
 * package is an optional peer, so core's types must not name it).
 */
export interface NativeGemmLike {
  sgemm(buffer: ArrayBuffer, call: GemmCallLike): void;
  /** Adam in place on the heap (see native-adam.ts). */
  adamStep(
    buffer: ArrayBuffer,
    call: AdamConstants & { n: number; xOffset: number; gOffset: number; mOffset: number; vOffset: number },
  ): void;
  /** Column sums on the heap in float64 (see Sum.ts); absent in @hypernets/native before 0.2. */
  sumRows?(buffer: ArrayBuffer, call: { rows: number; cols: number; xOffset: number; outOffset: number }): void;
}

let gemm: NativeGemmLike | null = null;

/** Routes the wasm backend's f32 products through `g` (null: back to wasm's own kernels). */
export function setNativeGemm(g: NativeGemmLike | null): void {
  gemm = g;
}

/** The native kernels when on (for native-adam.ts). */
export function nativeKernels(): NativeGemmLike | null {
  return gemm;
}

/** Whether f32 products currently go through the native GEMM. */
export function nativeGemmActive(): boolean {
  return gemm !== null;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Plan {
  outShape: number[];
  batch: number;
  M: number;
  N: number;
  K: number;
  aStride: number;
  bStride: number;
}

/** Shapes of a BatchMatMul the native path takes, or null (tfjs's kernel handles, or rejects, the rest). */
function plan(a: tf.TensorInfo, b: tf.TensorInfo, transA: boolean, transB: boolean): Plan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [M, Ka] = transA ? [a.shape[ra - 1]!, a.shape[ra - 2]!] : [a.shape[ra - 2]!, a.shape[ra - 1]!];
  const [Kb, N] = transB ? [b.shape[rb - 1]!, b.shape[rb - 2]!] : [b.shape[rb - 2]!, b.shape[rb - 1]!];
  if (Ka !== Kb) return null;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  let batchShape: number[];
  try {
    batchShape = tf.backend_util.assertAndGetBroadcastShape(batchA, batchB);
  } catch {
    return null;
  }
  const [na, nb] = [prod(batchA), prod(batchB)];
  const batch = prod(batchShape);
  // one operand repeated (stride 0) or both walked alike; other broadcasts go to tfjs
  if (!((na === batch || na === 1) && (nb === batch || nb === 1))) return null;
  if (na === batch && nb === batch && batchA.length !== batchB.length && na !== 1) return null;
  return {
    outShape: [...batchShape, M, N],
    batch,
    M,
    N,
    K: Ka,
    aStride: na === 1 ? 0 : M * Ka,
    bStride: nb === 1 ? 0 : Ka * N,
  };
}

/**
 * Whether the heap is a plain ArrayBuffer: the addon takes no SharedArrayBuffer (threaded wasm),
 * whose memory other threads may write while BLAS reads it; those products stay on wasm's kernels.
 */
function onPlainHeap(backend: WasmBackendLike, t: tf.TensorInfo): boolean {
  return backend.typedArrayFromHeap(t).buffer instanceof ArrayBuffer;
}

/** Float offset of a tensor on the heap, and the heap's buffer (both read after any allocation). */
function at(backend: WasmBackendLike, t: tf.TensorInfo): { buffer: ArrayBuffer; offset: number } {
  const v = backend.typedArrayFromHeap(t);
  return { buffer: v.buffer as ArrayBuffer, offset: v.byteOffset / 4 };
}

function run(backend: WasmBackendLike, a: tf.TensorInfo, b: tf.TensorInfo, p: Plan, transA: boolean, transB: boolean) {
  const out = backend.makeOutput(p.outShape, 'float32');
  if (p.batch * p.M * p.N === 0) return out;
  // views after makeOutput: it may have grown (and so replaced) the heap's buffer
  const [A, B, C] = [at(backend, a), at(backend, b), at(backend, out)];
  gemm!.sgemm(C.buffer, {
    transA,
    transB,
    batch: p.batch,
    M: p.M,
    N: p.N,
    K: p.K,
    aOffset: A.offset,
    aStride: p.aStride,
    bOffset: B.offset,
    bStride: p.bStride,
    cOffset: C.offset,
    cStride: p.M * p.N,
  });
  return out;
}

/** BatchMatMul through the native GEMM, or null when it is off or does not take these inputs. */
export function nativeBatchMatMul(
  backend: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transA: boolean,
  transB: boolean,
): tf.TensorInfo | null {
  if (!gemm || !onPlainHeap(backend, a)) return null;
  const p = plan(a, b, transA, transB);
  return p ? run(backend, a, b, p, transA, transB) : null;
}

type Activation = (x: number) => number;

/** The fused activations computed here (tfjs's names), or null for the rest. */
function activationFn(name: string, alpha: number): Activation | null {
  switch (name) {
    case 'linear':
      return null;
    case 'relu':
      return (x) => (x > 0 ? x : 0);
    case 'relu6':
      return (x) => (x < 0 ? 0 : x > 6 ? 6 : x);
    case 'elu':
      return (x) => (x >= 0 ? x : Math.exp(x) - 1);
    case 'sigmoid':
      return (x) => 1 / (1 + Math.exp(-x));
    case 'leakyrelu':
      return (x) => (x < 0 ? alpha * x : x);
    default:
      return null;
  }
}

/** A per-column vector (size N, every other dim 1) or a scalar: what a bias or PReLU weight may be here. */
function columnVector(t: tf.TensorInfo | undefined, N: number): boolean {
  if (!t) return true;
  if (t.dtype !== 'float32') return false;
  const size = prod(t.shape);
  return size === 1 || (size === N && t.shape[t.shape.length - 1] === N);
}

/**
 * _FusedMatMul (matMul, then bias, then activation) through the native GEMM; bias and activation
 * are applied in place on the output. Null when off or for inputs this does not take.
 */
export function nativeFusedMatMul(backend: WasmBackendLike, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | null {
  if (!gemm || !onPlainHeap(backend, args.inputs.a as tf.TensorInfo)) return null;
  const { a, b, bias, preluActivationWeights: prelu } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const attrs = args.attrs as {
    transposeA?: boolean;
    transposeB?: boolean;
    activation?: string;
    leakyreluAlpha?: number;
  };
  const transA = !!attrs.transposeA;
  const transB = !!attrs.transposeB;
  const p = plan(a!, b!, transA, transB);
  if (!p) return null;
  const activation = attrs.activation ?? 'linear';
  const fn = activationFn(activation, attrs.leakyreluAlpha ?? 0.2);
  if (activation !== 'linear' && activation !== 'prelu' && fn === null) return null;
  if (!columnVector(bias, p.N) || !columnVector(activation === 'prelu' ? prelu : undefined, p.N)) return null;
  if (activation === 'prelu' && !prelu) return null;
  const out = run(backend, a!, b!, p, transA, transB);
  if (!bias && activation === 'linear') return out;
  const c = backend.typedArrayFromHeap(out) as Float32Array;
  const N = p.N;
  // per-column vectors of length N (a scalar repeated), read once instead of per element
  const column = (t: tf.TensorInfo) => {
    const v = backend.typedArrayFromHeap(t) as Float32Array;
    return v.length === 1 ? new Float32Array(N).fill(v[0]!) : v;
  };
  const bv = bias ? column(bias) : null;
  const pv = activation === 'prelu' ? column(prelu!) : null;
  for (let row = 0; row < c.length; row += N) {
    for (let j = 0; j < N; j++) {
      let x = c[row + j]!;
      if (bv) x += bv[j]!;
      if (pv) x = x < 0 ? pv[j]! * x : x;
      else if (fn) x = fn(x);
      c[row + j] = x;
    }
  }
  return out;
}
