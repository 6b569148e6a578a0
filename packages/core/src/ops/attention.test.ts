import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { multiHeadAttention } from './attention.js';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { useCpu } from '../testing/nets.js';

beforeAll(useCpu);

// N = 1, h = 2, T = 3, dh = 2 (d = 4): head 0 is channels 0–1, head 1 channels 2–3.
const Q = [
  [1, 0, 0.5, -1],
  [0, 1, 2, 0],
  [-1, 2, 0, 1],
];
const K = [
  [0.5, 1, 1, 0],
  [-1, 0, 0, 2],
  [2, -0.5, -1, 1],
];
const V = [
  [1, 2, 3, 4],
  [-1, 0, 5, -2],
  [0.5, 3, -4, 1],
];
const H = 2;
const T = 3;
const DH = 2;
/** Per-head additive bias [h, T, T]. */
const BIAS = [
  [
    [0, 1, -1],
    [0.5, 0, 2],
    [-2, 0.3, 0],
  ],
  [
    [1, 0, 0],
    [0, -1, 0.7],
    [0.2, 0, -0.4],
  ],
];
/** Per-head keep mask [h, T, T]: false = masked. Head 1 masks a whole row (row 2). */
const KEEP = [
  [
    [true, false, true],
    [true, true, false],
    [false, true, true],
  ],
  [
    [true, true, false],
    [false, true, true],
    [false, false, false],
  ],
];

/**
 * Attention written out in JavaScript (float64): per head, scores q·k/√dh + bias, masked
 * scores replaced by `maskedValue`, softmax per row, then the weighted sum of v. Returns the
 * probabilities [h][T][T] and the output [T][d].
 */
function byHand(
  bias: number[][][] | null,
  keep: boolean[][][] | null,
  maskedValue: number,
): { probs: number[][][]; out: number[][] } {
  const probs: number[][][] = [];
  const out = Q.map(() => new Array<number>(H * DH).fill(0));
  for (let h = 0; h < H; h++) {
    const ph: number[][] = [];
    for (let i = 0; i < T; i++) {
      const s: number[] = [];
      for (let j = 0; j < T; j++) {
        let dot = 0;
        for (let c = 0; c < DH; c++) dot += Q[i]![h * DH + c]! * K[j]![h * DH + c]!;
        let sc = dot / Math.sqrt(DH) + (bias ? bias[h]![i]![j]! : 0);
        if (keep && !keep[h]![i]![j]!) sc = maskedValue;
        s.push(sc);
      }
      const max = Math.max(...s);
      const e = s.map((x) => Math.exp(x - max));
      const z = e.reduce((a, b) => a + b, 0);
      const p = e.map((x) => x / z);
      ph.push(p);
      for (let c = 0; c < DH; c++) out[i]![h * DH + c] = p.reduce((a, pj, j) => a + pj * V[j]![h * DH + c]!, 0);
    }
    probs.push(ph);
  }
  return { probs, out };
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  return Math.max(...a.flatMap((row, i) => row.map((x, j) => Math.abs(x - b[i]![j]!))));
}

describe('multiHeadAttention options', () => {
  const run = (options: Parameters<typeof multiHeadAttention>[4]) => {
    let probs: number[][][] = [];
    const out = tf.tidy(() => {
      const q = tf.tensor3d([Q]);
      const k = tf.tensor3d([K]);
      const v = tf.tensor3d([V]);
      return multiHeadAttention(q, k, v, H, {
        ...options,
        dropProbs: (p) => {
          probs = (p.arraySync() as number[][][][])[0]!;
          return p;
        },
      });
    });
    const o = (out.arraySync() as number[][][])[0]!;
    out.dispose();
    return { probs, out: o };
  };

  it('no options: plain scaled dot-product attention per head', () => {
    const got = run({});
    const want = byHand(null, null, 0);
    expect(maxAbsDiff(got.out, want.out)).toBeLessThan(1e-6);
  });

  it('bias [1, h, T, T] is added to the scaled scores', () => {
    const bias = tf.tensor4d([BIAS]);
    const got = run({ bias });
    const want = byHand(BIAS, null, 0);
    got.probs.forEach((p, h) => expect(maxAbsDiff(p, want.probs[h]!)).toBeLessThan(1e-6));
    expect(maxAbsDiff(got.out, want.out)).toBeLessThan(1e-6);
    bias.dispose();
  });

  it('bias broadcasts: [T, T] is shared by every head', () => {
    const bias = tf.tensor2d(BIAS[0]!);
    const got = run({ bias });
    const want = byHand([BIAS[0]!, BIAS[0]!], null, 0);
    expect(maxAbsDiff(got.out, want.out)).toBeLessThan(1e-6);
    bias.dispose();
  });

  it('mask: masked positions get zero probability; a fully masked row gets uniform ones (masked_fill)', () => {
    const bias = tf.tensor4d([BIAS]);
    const mask = tf.tensor4d([KEEP], undefined, 'bool');
    const got = run({ bias, mask, maskedValue: -(2 ** 15) });
    const want = byHand(BIAS, KEEP, -(2 ** 15));
    got.probs.forEach((p, h) => expect(maxAbsDiff(p, want.probs[h]!)).toBeLessThan(1e-6));
    expect(maxAbsDiff(got.out, want.out)).toBeLessThan(1e-6);
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) {
        if (h === 1 && i === 2) continue; // every key masked: softmax of equal scores
        for (let j = 0; j < T; j++) if (!KEEP[h]![i]![j]!) expect(got.probs[h]![i]![j]).toBe(0);
      }
    for (const p of got.probs[1]![2]!) expect(p).toBeCloseTo(1 / 3, 6);
    tf.dispose([bias, mask]);
  });

  it('mask combines with causal; the default masked value gives exact zeros', () => {
    const mask = tf.tensor4d([KEEP], undefined, 'bool');
    const got = run({ mask, causal: true });
    const causal = KEEP.map((head) => head.map((row, i) => row.map((kept, j) => kept && j <= i)));
    const want = byHand(null, causal, -1e9);
    got.probs.forEach((p, h) => expect(maxAbsDiff(p, want.probs[h]!)).toBeLessThan(1e-6));
    expect(maxAbsDiff(got.out, want.out)).toBeLessThan(1e-6);
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) expect(got.probs[h]![i]![j]).toBe(0); // above the diagonal
    mask.dispose();
  });

  it('leaks no tensors', () => {
    const bias = tf.tensor4d([BIAS]);
    const mask = tf.tensor4d([KEEP], undefined, 'bool');
    const q = tf.tensor3d([Q]);
    const before = tf.memory().numTensors;
    const out = multiHeadAttention(q, q, q, H, { bias, mask, causal: true });
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([bias, mask, q, out]);
  });
});

describe('multiHeadAttention input checks', () => {
  const q = () => tf.zeros([1, T, 4]);

  it('d that does not split into the heads is a ConfigError', () => {
    const x = q();
    expect(() => multiHeadAttention(x, x, x, 3)).toThrow(ConfigError);
    expect(() => multiHeadAttention(x, x, x, 3)).toThrow(/4 features do not split into 3 heads/);
    x.dispose();
  });

  it('k or v of another shape, or q not [N, T, d], is a ShapeMismatchError', () => {
    const x = q();
    const k = tf.zeros([1, T, 6]);
    expect(() => multiHeadAttention(x, k, x, 2)).toThrow(ShapeMismatchError);
    const r2 = tf.zeros([T, 4]);
    expect(() => multiHeadAttention(r2, r2, r2, 2)).toThrow(ShapeMismatchError);
    tf.dispose([x, k, r2]);
  });

  it('bias or mask that does not broadcast to [N, h, T, T] is a ShapeMismatchError; a non-bool mask a ConfigError', () => {
    const x = q();
    const badBias = tf.zeros([1, 3, T, T]);
    const badMask = tf.ones([2, 1, T, T], 'bool');
    const floatMask = tf.ones([T, T]);
    expect(() => multiHeadAttention(x, x, x, 2, { bias: badBias })).toThrow(ShapeMismatchError);
    expect(() => multiHeadAttention(x, x, x, 2, { bias: badBias })).toThrow(/attention bias.*\[1, 2, 3, 3\]/);
    expect(() => multiHeadAttention(x, x, x, 2, { mask: badMask })).toThrow(ShapeMismatchError);
    expect(() => multiHeadAttention(x, x, x, 2, { mask: floatMask })).toThrow(ConfigError);
    tf.dispose([x, badBias, badMask, floatMask]);
  });
});
