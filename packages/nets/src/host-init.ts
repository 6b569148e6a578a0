import type { Activation } from '@hypernets/core';

/**
 * Host-side (plain JS) arithmetic for init statistics: the hyperfan inits measure E[a²] of the
 * hypernetwork's own activations on the values they just drew. Reading tensors back for that
 * (`dataSync`) fails on WebGPU in Node, and would make the init depend on the backend; these
 * run on the drawn arrays instead, so the same seed gives the same init on every backend.
 * Values are rounded to float32 where tfjs stores a tensor, with sums accumulated in float64
 * as tfjs-cpu's kernels do, so the statistics match what the tensor ops gave on `cpu`.
 */

const f32 = Math.fround;
/** tfjs-cpu's MatMul block size (MathBackendCPU.blockSize). */
const MATMUL_BLOCK = 48;

/** erf as tfjs's cpu kernel computes it (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function erfValue(x: number): number {
  const v = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * v);
  const poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return Math.sign(x) * (1 - poly * Math.exp(-v * v));
}

/** One activation, as `activate` in @hypernets/core computes it. */
export function activateValue(x: number, act: Activation): number {
  switch (act) {
    case 'relu':
      return x > 0 ? x : 0;
    case 'tanh':
      return Math.tanh(x);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'elu':
      return x > 0 ? x : Math.exp(x) - 1;
    case 'leaky-relu':
      return x < 0 ? 0.01 * x : x;
    case 'silu':
      return x * f32(1 / (1 + Math.exp(-x)));
    case 'gelu':
      return 0.5 * x * (1 + erfValue(x * Math.SQRT1_2));
    case 'gelu-tanh': {
      const c = Math.sqrt(2 / Math.PI);
      return 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x * x * x)));
    }
    case 'linear':
      return x;
  }
}

/**
 * act(x W + b) for `rows` row-major rows x [rows, inDim], W [inDim, outDim] row-major, b [outDim]
 * (absent: no bias). Returns [rows, outDim] as float32.
 */
export function hostDense(
  x: Float32Array,
  rows: number,
  w: Float32Array,
  b: Float32Array | undefined,
  act: Activation,
): Float32Array {
  const inDim = x.length / rows;
  const outDim = w.length / inDim;
  // invariant: the init code sizes x and w from the same ParamSpecs (a bug here, not bad input).
  if (!Number.isInteger(inDim) || !Number.isInteger(outDim))
    throw new Error(`hostDense: [${rows}, ${x.length / rows}] × ${w.length} values do not fit`);
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const xRow = r * inDim;
    for (let o = 0; o < outDim; o++) {
      // tfjs-cpu's MatMul: float64 sums over blocks of 48 along the shared axis, added into float32.
      let acc = 0;
      for (let k0 = 0; k0 < inDim; k0 += MATMUL_BLOCK) {
        const k1 = Math.min(k0 + MATMUL_BLOCK, inDim);
        let sum = 0;
        for (let k = k0; k < k1; k++) sum += x[xRow + k]! * w[k * outDim + o]!;
        acc = f32(acc + sum);
      }
      if (b) acc = f32(acc + b[o]!);
      y[r * outDim + o] = activateValue(acc, act);
    }
  }
  return y;
}

/** mean(x²) over all entries, as tf.mean(tf.square(x)) computes it on cpu (divide, then sum). */
export function meanSquare(x: ArrayLike<number>): number {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += f32(f32(x[i]! * x[i]!) / n);
  return f32(s);
}

/** mean(x², axis 1) of a row-major [rows, x.length / rows] array: one value per row. */
export function rowMeanSquares(x: ArrayLike<number>, rows: number): Float32Array {
  const width = x.length / rows;
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < width; j++) {
      const v = x[r * width + j]!;
      s += f32(f32(v * v) / width);
    }
    out[r] = s;
  }
  return out;
}

/** mean(x) over all entries. */
export function mean(x: ArrayLike<number>): number {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += f32(x[i]! / n);
  return f32(s);
}
