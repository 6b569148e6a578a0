// Test-only helpers for the kernel tests in src/kernels/ (not exported from the package).
import * as tf from '@tensorflow/tfjs-core';

/** mulberry32: small seeded PRNG, deterministic across runs. */
export function rng(seed: number): {
  next: () => number;
  int: (lo: number, hi: number) => number;
  normal: () => number;
  pick: <T>(xs: readonly T[]) => T;
} {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    normal: () => {
      const u = Math.max(next(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    pick: (xs) => xs[Math.floor(next() * xs.length)],
  };
}

/** Plain random data (a Float32Array) for a shape, to build the same tensor on each backend. */
export function randData(r: ReturnType<typeof rng>, shape: number[], scale = 1): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = r.normal() * scale;
  return v;
}

export interface Cmp {
  maxAbs: number;
  /** max |ref| (at least 1): the magnitude the tolerance is relative to */
  scale: number;
}

export function compare(ref: ArrayLike<number>, got: ArrayLike<number>): Cmp {
  if (ref.length !== got.length) throw new Error(`length mismatch: ${ref.length} vs ${got.length}`);
  let maxAbs = 0;
  let scale = 1;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ref[i] - got[i]);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return { maxAbs, scale };
}

/** The values of `f()` (built inside `f`) computed on `backend`; the tensor is disposed. */
export async function valuesOn(backend: string, f: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const t = f();
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

/** Runs `fn` on each backend (tensors built inside `fn`) and returns the outputs' values. */
export async function runOn(
  backends: readonly string[],
  fn: () => tf.Tensor | tf.Tensor[],
): Promise<Record<string, { values: Float32Array[]; shapes: number[][] }>> {
  const res: Record<string, { values: Float32Array[]; shapes: number[][] }> = {};
  for (const b of backends) {
    await tf.setBackend(b);
    const outs = tf.tidy(() => {
      const o = fn();
      return Array.isArray(o) ? o : [o];
    });
    res[b] = { values: outs.map((t) => Float32Array.from(t.dataSync())), shapes: outs.map((t) => t.shape) };
    tf.dispose(outs);
  }
  return res;
}

/** Per-kernel error record, printed as a table at the end of a test file. */
export class ErrorTable {
  rows = new Map<string, { maxAbs: number; maxRel: number; cases: number }>();
  add(name: string, c: Cmp): void {
    const r = this.rows.get(name) ?? { maxAbs: 0, maxRel: 0, cases: 0 };
    r.maxAbs = Math.max(r.maxAbs, c.maxAbs);
    r.maxRel = Math.max(r.maxRel, c.maxAbs / c.scale);
    r.cases++;
    this.rows.set(name, r);
  }
  print(title: string): void {
    const t = [...this.rows].map(([kernel, r]) => ({
      kernel,
      cases: r.cases,
      'max abs err': r.maxAbs.toExponential(2),
      'max err / max(1,|ref|)': r.maxRel.toExponential(2),
    }));
    console.log(`\n${title}`);
    console.table(t);
  }
}

/** Naive float64 einsum (any number of operands, no duplicate labels): a test reference. */
export function naiveEinsum(
  equation: string,
  operands: { values: ArrayLike<number>; shape: number[] }[],
): { values: Float64Array; shape: number[] } {
  const [lhs, out] = equation.replace(/\s/g, '').split('->');
  const terms = lhs.split(',');
  const size = new Map<string, number>();
  terms.forEach((t, i) => [...t].forEach((l, j) => size.set(l, operands[i].shape[j])));
  const labels = [...new Set([...out, ...terms.join('')])];
  const outShape = [...out].map((l) => size.get(l)!);
  const res = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const idx = new Map<string, number>();
  const total = labels.reduce((a, l) => a * size.get(l)!, 1);
  const offset = (t: string, shape: number[]) => {
    let o = 0;
    for (let j = 0; j < t.length; j++) o = o * shape[j] + idx.get(t[j])!;
    return o;
  };
  for (let k = 0; k < total; k++) {
    let rem = k;
    for (let j = labels.length - 1; j >= 0; j--) {
      const n = size.get(labels[j])!;
      idx.set(labels[j], rem % n);
      rem = Math.floor(rem / n);
    }
    let p = 1;
    terms.forEach((t, i) => (p *= operands[i].values[offset(t, operands[i].shape)]));
    res[offset(out, outShape)] += p;
  }
  return { values: res, shape: outShape };
}
