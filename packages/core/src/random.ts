import prand from 'pure-rand';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from './errors/index.js';

/**
 * Seeded random source. One seed makes every init, shuffle and dropout mask reproducible on
 * the same backend: tensors are drawn with integer seeds taken from this stream, so the order
 * of draws, not wall-clock state, decides the numbers. The state is a plain number array
 * that checkpoints save and restore.
 *
 * An integer seed is spread over the generator's 128-bit state by splitmix32 (so seeds 0, 1,
 * 2, … start unrelated streams). xoroshiro128+'s own seeding puts the seed into the state as is,
 * which made the first draws of nearby seeds nearly equal (e.g. every Pendulum reset for seeds
 * 0…1000 started near θ = π).
 */
export class Rng {
  private gen: prand.RandomGenerator;

  constructor(seed: number | readonly number[] = 0) {
    this.gen = Array.isArray(seed)
      ? prand.xoroshiro128plus.fromState(seed as readonly number[])
      : prand.xoroshiro128plus.fromState(seedState(seed as number));
  }

  /** Serialisable state; `new Rng(state)` continues the same stream. */
  getState(): number[] {
    const g = this.gen as prand.RandomGenerator & { getState?: () => readonly number[] };
    // invariant: package.json requires pure-rand ^6.1, which has getState (a broken install, not bad input).
    if (!g.getState) throw new Error('pure-rand generator lacks getState (pure-rand >= 6.1 required)');
    return [...g.getState()];
  }

  /** Uniform 32-bit signed integer. */
  nextInt(): number {
    return prand.unsafeUniformIntDistribution(-0x80000000, 0x7fffffff, this.gen);
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return prand.unsafeUniformIntDistribution(lo, hi, this.gen);
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = prand.unsafeUniformIntDistribution(0, (1 << 26) - 1, this.gen);
    const lo = prand.unsafeUniformIntDistribution(0, (1 << 27) - 1, this.gen);
    return (hi * 134217728 + lo) / 9007199254740992;
  }

  /** A fresh seed for a tfjs random op (tf.randomNormal etc. take a numeric seed). */
  seed(): number {
    return this.int(0, 0x7fffffff);
  }

  /** A child stream, independent of later draws from this one. */
  fork(): Rng {
    return new Rng(this.nextInt());
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(a: T[] | Int32Array | Uint32Array): typeof a {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = a[i];
      a[i] = a[j];
      a[j] = t as never;
    }
    return a;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p) as Int32Array;
  }

  normal(shape: number[], mean = 0, std = 1): tf.Tensor {
    return tf.randomNormal(shape, mean, std, 'float32', this.seed());
  }

  /**
   * The values `normal(shape, mean, std)` would hold, as a plain array, drawn in JS: the same
   * seed from this stream, the same generator as tfjs-core's `randomNormal` (Marsaglia polar on
   * seedrandom's alea). Init code that needs statistics of what it draws uses this, so nothing
   * reads a tensor back (no `dataSync`, which WebGPU in Node cannot do).
   */
  normalArray(shape: readonly number[], mean = 0, std = 1): Float32Array {
    return gaussianValues(sizeOf(shape), mean, std, this.seed());
  }

  /** The values `uniformTensor(shape, lo, hi)` would hold, as a plain array (see normalArray). */
  uniformArray(shape: readonly number[], lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(sizeOf(shape));
    const random = alea(String(this.seed()));
    const range = hi - lo;
    for (let i = 0; i < out.length; i++) out[i] = lo + range * random();
    return out;
  }

  truncatedNormal(shape: number[], mean = 0, std = 1): tf.Tensor {
    return tf.truncatedNormal(shape, mean, std, 'float32', this.seed());
  }

  uniformTensor(shape: number[], lo = 0, hi = 1): tf.Tensor {
    return tf.randomUniform(shape, lo, hi, 'float32', this.seed());
  }

  /** Inverted-dropout mask: 0 with probability `rate`, else 1/(1-rate). */
  dropoutMask(shape: number[], rate: number): tf.Tensor {
    return tf.tidy(() => {
      const keep = tf.cast(tf.greaterEqual(this.uniformTensor(shape), rate), 'float32');
      return tf.mul(keep, 1 / (1 - rate));
    });
  }
}

/**
 * The four 32-bit state words for an integer seed: successive outputs of splitmix32 (Steele,
 * Lea & Flood's SplitMix with murmur3's 32-bit finaliser) from the seed. Seeds are taken modulo
 * 2^32 (as `seed | 0` did before). The all-zero state, which xoroshiro never leaves, cannot come
 * out for every word at once; it is guarded anyway.
 */
function seedState(seed: number): number[] {
  let x = seed | 0;
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    words.push((z ^ (z >>> 16)) | 0);
  }
  if (!words.some((w) => w !== 0)) words[0] = 1;
  return words;
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new ConfigError('shape', `tensor dimensions must be non-negative integers, got [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

/**
 * seedrandom's `alea` (Johannes Baagøe's generator, as tfjs-core 4.x draws its random tensors
 * with it), reimplemented so core needs no copy of seedrandom: same seed string, same stream.
 */
function alea(seed: string): () => number {
  let n = 0xefc8249d;
  const mash = (data: string): number => {
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000; // 2^32
    }
    return (n >>> 0) * 2.3283064365386963e-10; // 2^-32
  };
  let c = 1;
  let s0 = mash(' ');
  let s1 = mash(' ');
  let s2 = mash(' ');
  s0 -= mash(seed);
  if (s0 < 0) s0 += 1;
  s1 -= mash(seed);
  if (s1 < 0) s1 += 1;
  s2 -= mash(seed);
  if (s2 < 0) s2 += 1;
  return () => {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10; // 2^-32
    s0 = s1;
    s1 = s2;
    return (s2 = t - (c = t | 0));
  };
}

/**
 * `count` values of tfjs-core's MPRandGauss(mean, std, 'float32', truncated = false, seed): the
 * Marsaglia polar method, both values of each pair used. tfjs seeds with Math.random() when the
 * seed is 0 (falsy); so does this.
 */
function gaussianValues(count: number, mean: number, std: number, seed: number): Float32Array {
  const random = alea(String(seed ? seed : Math.random()));
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    let v1: number;
    let v2: number;
    let s: number;
    do {
      v1 = 2 * random() - 1;
      v2 = 2 * random() - 1;
      s = v1 * v1 + v2 * v2;
    } while (s >= 1 || s === 0);
    const mul = Math.sqrt((-2.0 * Math.log(s)) / s);
    out[i] = mean + std * v1 * mul;
    if (i + 1 < count) out[i + 1] = mean + std * v2 * mul;
  }
  return out;
}
