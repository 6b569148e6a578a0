/**
 * @hypernets/native: f32 GEMM with OpenBLAS on memory JavaScript owns, for @hypernets/core's
 * wasm backend (its products then run on the CPU's AVX2/FMA instead of wasm SIMD128). Optional:
 * when the addon or OpenBLAS is missing, `loadNative()` says why and core stays on pure wasm.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Addon {
  init(path?: string): { ok: true; library: string; config: string } | { ok: false; error: string };
  setThreads(n: number): void;
  sgemm(
    buffer: ArrayBuffer,
    transA: boolean,
    transB: boolean,
    batch: number,
    M: number,
    N: number,
    K: number,
    aOff: number,
    aStride: number,
    bOff: number,
    bStride: number,
    cOff: number,
    cStride: number,
    alpha: number,
    beta: number,
  ): void;
  adamStep(
    buffer: ArrayBuffer,
    n: number,
    xOff: number,
    gOff: number,
    mOff: number,
    vOff: number,
    weightDecay: number,
    shrink: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    biasCorrection2: number,
    eps: number,
    scale: number,
  ): void;
  sumRows(buffer: ArrayBuffer, rows: number, cols: number, xOff: number, outOff: number): void;
}

/** One batched product on a buffer of float32s; offsets and strides count floats. */
export interface GemmCall {
  transA: boolean;
  transB: boolean;
  /** Number of products; a stride of 0 reuses one operand for every product (broadcast). */
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

/**
 * One Adam step in place on `n` floats of x (parameters), m and v (moments), reading the gradient
 * at `gOffset`; offsets count floats. The constants are @hypernets/core's Adam's, each rounded
 * to float32 as its element-wise kernels round them: g ← g + x·weightDecay (when > 0);
 * m ← m·beta1 + g·oneMinusBeta1; v ← v·beta2 + g²·oneMinusBeta2;
 * x ← x·shrink (when ≠ 1: AdamW's 1 − lr·decay) + m / (√v / biasCorrection2 + eps) · scale.
 */
export interface AdamCall {
  n: number;
  xOffset: number;
  gOffset: number;
  mOffset: number;
  vOffset: number;
  weightDecay: number;
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
 * Column sums of a row-major [rows, cols] float32 matrix at `xOffset` into the `cols` floats at
 * `outOffset` (offsets count floats; the output must not overlap the input). Accumulated in
 * float64 four rows at a time and rounded once, in the order of @hypernets/core's Sum kernel.
 */
export interface SumRowsCall {
  rows: number;
  cols: number;
  xOffset: number;
  outOffset: number;
}

/** What `loadNative()` returns when the addon and a BLAS loaded. */
export interface NativeKernels {
  /** C[i] = op(A[i])·op(B[i]) for i < batch, row-major, on `buffer` (e.g. a WebAssembly.Memory's). */
  sgemm(buffer: ArrayBuffer, call: GemmCall): void;
  /** Adam in one pass per variable, in place (x, m, v must not overlap each other or g). */
  adamStep(buffer: ArrayBuffer, call: AdamCall): void;
  /** Column sums (a reduction over the leading axes), in float64, rounded once. */
  sumRows(buffer: ArrayBuffer, call: SumRowsCall): void;
  /** The BLAS library opened, and its own description (OpenBLAS's build configuration). */
  readonly library: string;
  readonly config: string;
  /** BLAS threads: `HYPERNETS_BLAS_THREADS`, default 1 (a step's products are small; threads cost more than they give on a busy machine). */
  readonly threads: number;
}

export type LoadResult = { ok: true; kernels: NativeKernels } | { ok: false; reason: string };

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the binary for this platform is (prebuilt in the package, or built here by `pnpm build`). */
export function addonPath(): string {
  return join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'hypernets-native.node');
}

let cached: LoadResult | null = null;

/**
 * Loads the addon and OpenBLAS (`HYPERNETS_OPENBLAS` names the library file, default
 * `libopenblas.so.0`) once. Never throws: a missing piece is `{ ok: false, reason }` with what to do.
 */
export function loadNative(): LoadResult {
  if (cached) return cached;
  cached = load();
  return cached;
}

function load(): LoadResult {
  const file = addonPath();
  if (!existsSync(file))
    return {
      ok: false,
      reason:
        `no binary for ${process.platform}-${process.arch} (${file}); build it with a C compiler: ` +
        '`npm rebuild @hypernets/native` or `node node_modules/@hypernets/native/scripts/build-addon.mjs`',
    };
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
  } catch (e) {
    return { ok: false, reason: `the addon did not load: ${(e as Error).message}` };
  }
  const lib = process.env.HYPERNETS_OPENBLAS || 'libopenblas.so.0';
  const init = addon.init(lib);
  if (!init.ok)
    return {
      ok: false,
      reason: `no BLAS: ${init.error}; install OpenBLAS (Debian: apt-get install libopenblas0-pthread) or set HYPERNETS_OPENBLAS`,
    };
  const threads = blasThreads();
  if (typeof threads === 'string') return { ok: false, reason: threads };
  addon.setThreads(threads);
  const kernels: NativeKernels = {
    library: init.library,
    config: init.config,
    threads,
    adamStep(buffer, c) {
      addon.adamStep(
        buffer,
        c.n,
        c.xOffset,
        c.gOffset,
        c.mOffset,
        c.vOffset,
        c.weightDecay,
        c.shrink,
        c.beta1,
        c.oneMinusBeta1,
        c.beta2,
        c.oneMinusBeta2,
        c.biasCorrection2,
        c.eps,
        c.scale,
      );
    },
    sumRows(buffer, c) {
      addon.sumRows(buffer, c.rows, c.cols, c.xOffset, c.outOffset);
    },
    sgemm(buffer, c) {
      addon.sgemm(
        buffer,
        c.transA,
        c.transB,
        c.batch,
        c.M,
        c.N,
        c.K,
        c.aOffset,
        c.aStride,
        c.bOffset,
        c.bStride,
        c.cOffset,
        c.cStride,
        1,
        0,
      );
    },
  };
  return { ok: true, kernels };
}

/** HYPERNETS_BLAS_THREADS as a count, or why it is not one. */
function blasThreads(): number | string {
  const v = process.env.HYPERNETS_BLAS_THREADS;
  if (v === undefined || v === '') return 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    return `HYPERNETS_BLAS_THREADS must be an integer from 1 to 256, got '${v}'`;
  return n;
}
