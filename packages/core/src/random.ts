import prand from 'pure-rand';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Seeded random source. One seed makes every init, shuffle and dropout mask reproducible on
 * the same backend: tensors are drawn with integer seeds taken from this stream, so the order
 * of draws, not wall-clock state, decides the numbers. The state is a plain number array
 * that checkpoints save and restore.
 */
export class Rng {
  private gen: prand.RandomGenerator;

  constructor(seed: number | readonly number[] = 0) {
    this.gen = Array.isArray(seed)
      ? prand.xoroshiro128plus.fromState(seed as readonly number[])
      : prand.xoroshiro128plus((seed as number) | 0);
  }

  /** Serialisable state; `new Rng(state)` continues the same stream. */
  getState(): number[] {
    const g = this.gen as prand.RandomGenerator & { getState?: () => readonly number[] };
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
