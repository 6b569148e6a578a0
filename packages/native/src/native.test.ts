import { describe, expect, it } from 'vitest';
import { loadNative, type GemmCall } from './index.js';

const loaded = loadNative();
// CI installs a C compiler and OpenBLAS: there the addon must load; elsewhere say why it is skipped.
const required = process.env.CI === 'true';
if (!loaded.ok && !required) console.warn(`[native.test] skipped: ${loaded.reason}`);
const suite = loaded.ok || required ? describe : describe.skip;

/** xorshift floats in [-1, 1): a fixed sequence without tfjs. */
function filler(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  };
}

/** C[i] = op(A[i])·op(B[i]) in float64, as the reference. */
function reference(buf: Float32Array, c: GemmCall): Float64Array {
  const out = new Float64Array(c.batch * c.M * c.N);
  for (let i = 0; i < c.batch; i++)
    for (let m = 0; m < c.M; m++)
      for (let n = 0; n < c.N; n++) {
        let acc = 0;
        for (let k = 0; k < c.K; k++) {
          const a = buf[c.aOffset + i * c.aStride + (c.transA ? k * c.M + m : m * c.K + k)]!;
          const b = buf[c.bOffset + i * c.bStride + (c.transB ? n * c.K + k : k * c.N + n)]!;
          acc += a * b;
        }
        out[(i * c.M + m) * c.N + n] = acc;
      }
  return out;
}

suite('native sgemm (OpenBLAS on a JavaScript buffer)', () => {
  const gemm = loaded.ok ? loaded.kernels : null!;

  it('says which BLAS it opened, with 1 thread by default', () => {
    expect(loaded.ok, loaded.ok ? '' : loaded.reason).toBe(true);
    expect(gemm.library).toMatch(/blas/i);
    expect(gemm.threads).toBe(1);
  });

  it('equals a float64 reference for every transpose case, batched and with one operand broadcast', async ({
    annotate,
  }) => {
    const next = filler(7);
    let worst = 0;
    for (const transA of [false, true])
      for (const transB of [false, true])
        for (const [batch, shareA, shareB] of [
          [1, false, false],
          [3, false, false],
          [4, true, false],
          [2, false, true],
        ] as const)
          for (const [M, N, K] of [
            [1, 1, 1],
            [5, 7, 3],
            [17, 9, 33],
            [64, 40, 128],
          ] as const) {
            const aStride = shareA ? 0 : M * K;
            const bStride = shareB ? 0 : K * N;
            const pad = 3; // operands start at odd offsets, not at 0
            const aOffset = pad;
            const bOffset = aOffset + (shareA ? 1 : batch) * M * K + pad;
            const cOffset = bOffset + (shareB ? 1 : batch) * K * N + pad;
            const buf = new Float32Array(cOffset + batch * M * N + pad);
            for (let i = 0; i < cOffset; i++) buf[i] = next();
            buf.fill(NaN, cOffset); // every output element must be written
            const call: GemmCall = {
              transA,
              transB,
              batch,
              M,
              N,
              K,
              aOffset,
              aStride,
              bOffset,
              bStride,
              cOffset,
              cStride: M * N,
            };
            const want = reference(buf, call);
            gemm.sgemm(buf.buffer, call);
            for (let i = 0; i < want.length; i++) {
              const err = Math.abs(buf[cOffset + i]! - want[i]!) / Math.max(1, Math.abs(want[i]!));
              worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
            }
            expect(buf[cOffset + batch * M * N], 'wrote past C').toBeNaN();
          }
    await annotate(`worst relative error vs float64: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
  });

  it('K = 0 gives zeros; M or N = 0 writes nothing', () => {
    const buf = new Float32Array(8).fill(5);
    gemm.sgemm(buf.buffer, {
      transA: false,
      transB: false,
      batch: 1,
      M: 2,
      N: 2,
      K: 0,
      aOffset: 0,
      aStride: 0,
      bOffset: 0,
      bStride: 0,
      cOffset: 4,
      cStride: 4,
    });
    expect(Array.from(buf)).toEqual([5, 5, 5, 5, 0, 0, 0, 0]);
    gemm.sgemm(buf.buffer, {
      transA: false,
      transB: false,
      batch: 1,
      M: 0,
      N: 2,
      K: 2,
      aOffset: 0,
      aStride: 0,
      bOffset: 0,
      bStride: 0,
      cOffset: 0,
      cStride: 0,
    });
    expect(Array.from(buf.subarray(0, 4))).toEqual([5, 5, 5, 5]);
  });

  it('refuses any operand that reaches outside the buffer, before BLAS reads or writes', () => {
    const buf = new Float32Array(16).fill(1);
    const ok: GemmCall = {
      transA: false,
      transB: false,
      batch: 1,
      M: 2,
      N: 2,
      K: 2,
      aOffset: 0,
      aStride: 4,
      bOffset: 4,
      bStride: 4,
      cOffset: 8,
      cStride: 4,
    };
    gemm.sgemm(buf.buffer, ok);
    for (const bad of [
      { cOffset: 13 }, // C's last element at 16
      { aOffset: 15 },
      { bOffset: 1e12 },
      { batch: 3, cOffset: 8 }, // three C's from 8: up to 20
      { batch: 2, cStride: 2 }, // the two C's overlap
      { M: 2 ** 31 },
      { aOffset: -1 },
      { K: 1.5 },
      { N: NaN },
      { batch: 0 },
    ] as Partial<GemmCall>[]) {
      const before = Array.from(buf);
      expect(() => gemm.sgemm(buf.buffer, { ...ok, ...bad }), JSON.stringify(bad)).toThrow(RangeError);
      expect(Array.from(buf)).toEqual(before);
    }
    expect(() => gemm.sgemm(new Float32Array(4) as unknown as ArrayBuffer, ok)).toThrow(TypeError);
  });
});

suite('native adamStep', () => {
  const k = loaded.ok ? loaded.kernels : null!;
  const f = Math.fround;
  const c = {
    weightDecay: 0.01,
    shrink: 1,
    beta1: 0.9,
    oneMinusBeta1: 1 - 0.9,
    beta2: 0.999,
    oneMinusBeta2: 1 - 0.999,
    biasCorrection2: Math.sqrt(1 - 0.999 ** 3),
    eps: 1e-8,
    scale: -1e-3 / (1 - 0.9 ** 3),
  };

  it.each([
    ['Adam (L2 decay in the gradient)', c],
    ['AdamW (decoupled decay: x·shrink)', { ...c, weightDecay: 0, shrink: 1 - 1e-3 * 0.01 }],
  ])('%s equals the float32 operations of core Adam, each rounded in turn (Math.fround)', (_, c) => {
    const n = 1000;
    const next = filler(11);
    const buf = new Float32Array(4 * n + 5);
    const [xo, go, mo, vo] = [1, n + 2, 2 * n + 3, 3 * n + 4];
    for (let i = 0; i < n; i++) {
      buf[xo + i] = next();
      buf[go + i] = next();
      buf[mo + i] = next() / 10;
      buf[vo + i] = Math.abs(next()) / 100;
    }
    const want = Float32Array.from(buf);
    const C = Object.fromEntries(Object.entries(c).map(([key, val]) => [key, f(val)])) as typeof c;
    for (let i = 0; i < n; i++) {
      const x = want[xo + i]!;
      const g = C.weightDecay > 0 ? f(want[go + i]! + f(x * C.weightDecay)) : want[go + i]!;
      const m = f(f(want[mo + i]! * C.beta1) + f(g * C.oneMinusBeta1));
      const v = f(f(want[vo + i]! * C.beta2) + f(f(g * g) * C.oneMinusBeta2));
      const d = f(f(m / f(f(f(Math.sqrt(v)) / C.biasCorrection2) + C.eps)) * C.scale);
      const xs = C.shrink !== 1 ? f(x * C.shrink) : x;
      [want[xo + i], want[mo + i], want[vo + i]] = [f(xs + d), m, v];
    }
    k.adamStep(buf.buffer, { n, xOffset: xo, gOffset: go, mOffset: mo, vOffset: vo, ...c });
    expect(Array.from(buf)).toEqual(Array.from(want));
  });

  it('refuses operands outside the buffer or overlapping, changing nothing', () => {
    const buf = new Float32Array(16).fill(0.5);
    const ok = { n: 4, xOffset: 0, gOffset: 4, mOffset: 8, vOffset: 12, ...c };
    for (const bad of [{ vOffset: 13 }, { mOffset: 2 }, { gOffset: 1 }, { n: 5 }, { xOffset: -4 }, { n: 2.5 }]) {
      const before = Array.from(buf);
      expect(() => k.adamStep(buf.buffer, { ...ok, ...bad }), JSON.stringify(bad)).toThrow(RangeError);
      expect(Array.from(buf)).toEqual(before);
    }
  });
});

suite('native sumRows', () => {
  const k = loaded.ok ? loaded.kernels : null!;

  it('equals the float64 sum four rows at a time, rounded once, for every row remainder', () => {
    const next = filler(5);
    for (const [rows, cols] of [
      [1, 7],
      [2, 33],
      [3, 1],
      [4, 100],
      [7, 129],
      [128, 10],
      [23, 4000],
    ] as const) {
      const xo = 3;
      const oo = xo + rows * cols + 2;
      const buf = new Float32Array(oo + cols + 1);
      for (let i = 0; i < rows * cols; i++) buf[xo + i] = next() * 100;
      buf[oo + cols] = 42; // the float after the output stays
      const acc = new Float64Array(cols);
      let r = 0;
      for (; r + 4 <= rows; r += 4)
        for (let c = 0; c < cols; c++) {
          const o = xo + r * cols + c;
          acc[c] += buf[o]! + buf[o + cols]! + buf[o + 2 * cols]! + buf[o + 3 * cols]!;
        }
      for (; r < rows; r++) for (let c = 0; c < cols; c++) acc[c] += buf[xo + r * cols + c]!;
      k.sumRows(buf.buffer, { rows, cols, xOffset: xo, outOffset: oo });
      expect(Array.from(buf.subarray(oo, oo + cols)), `[${rows}, ${cols}]`).toEqual(Array.from(Float32Array.from(acc)));
      expect(buf[oo + cols]).toBe(42);
    }
  });

  it('refuses operands outside the buffer or an output overlapping the input, changing nothing', () => {
    const buf = new Float32Array(16).fill(0.5);
    const ok = { rows: 3, cols: 4, xOffset: 0, outOffset: 12 };
    k.sumRows(buf.buffer, ok);
    expect(Array.from(buf.subarray(12))).toEqual([1.5, 1.5, 1.5, 1.5]);
    for (const bad of [{ outOffset: 13 }, { outOffset: 8 }, { rows: 4 }, { xOffset: 1 }, { cols: -1 }, { rows: 1.5 }]) {
      const before = Array.from(buf);
      expect(() => k.sumRows(buf.buffer, { ...ok, ...bad }), JSON.stringify(bad)).toThrow(RangeError);
      expect(Array.from(buf)).toEqual(before);
    }
  });
});

describe('loadNative without a BLAS', () => {
  it('says what is missing instead of throwing (HYPERNETS_OPENBLAS naming a library that is not there)', async () => {
    const { spawnSync } = await import('node:child_process');
    const script =
      "const { loadNative } = await import('./src/index.ts'); const r = loadNative(); console.log(JSON.stringify(r));";
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url).pathname,
      env: { ...process.env, HYPERNETS_OPENBLAS: 'libnot-a-blas.so.7' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; reason?: string };
    expect(out.ok).toBe(false);
    expect(out.reason).toMatch(/libnot-a-blas\.so\.7|no binary/);
  });
});
