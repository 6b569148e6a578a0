import { ConfigError, Rng } from '@hypernets/core';
import { InvalidActionError } from '../errors.js';

/**
 * A box in R^n: `low` and `high` (float32, as Gymnasium's `Box(..., dtype=np.float32)`; ±Infinity
 * for an unbounded side) over a shape. Values are flat, row-major.
 */
export class Box {
  readonly kind = 'box' as const;
  readonly low: Float32Array;
  readonly high: Float32Array;
  readonly shape: readonly number[];
  readonly dtype = 'float32' as const;
  /** Number of values (the product of the shape). */
  readonly size: number;
  private rng: Rng = new Rng(entropySeed());

  /** `low`/`high` are numbers (broadcast over `shape`) or arrays of the shape's size. */
  constructor(low: number | ArrayLike<number>, high: number | ArrayLike<number>, shape?: readonly number[]) {
    const inferred =
      shape ?? (typeof low !== 'number' ? [low.length] : typeof high !== 'number' ? [high.length] : null);
    if (!inferred) throw new ConfigError('Box.shape', 'give a shape when low and high are both numbers');
    if (inferred.some((d) => !Number.isInteger(d) || d < 0))
      throw new ConfigError('Box.shape', `dimensions must be non-negative integers, got [${inferred.join(', ')}]`);
    this.shape = [...inferred];
    this.size = inferred.reduce((a, b) => a * b, 1);
    this.low = fill(low, this.size, 'Box.low');
    this.high = fill(high, this.size, 'Box.high');
    for (let i = 0; i < this.size; i++)
      if (!(this.low[i] <= this.high[i]))
        throw new ConfigError('Box', `low[${i}] = ${this.low[i]} is not <= high[${i}] = ${this.high[i]}`);
  }

  /** Whether `x` has the box's size, holds no NaN, and lies within [low, high]. */
  contains(x: ArrayLike<number>): boolean {
    if (x == null || typeof x !== 'object' || x.length !== this.size) return false;
    for (let i = 0; i < this.size; i++) if (!(x[i] >= this.low[i] && x[i] <= this.high[i])) return false;
    return true;
  }

  /**
   * A random point, as Gymnasium samples a Box: uniform where both bounds are finite, low + Exp(1)
   * or high − Exp(1) where one is, N(0, 1) where neither is. Drawn from the space's own stream
   * (`seed()` it for reproducible samples).
   */
  sample(): Float32Array {
    const out = new Float32Array(this.size);
    for (let i = 0; i < this.size; i++) {
      const lo = this.low[i];
      const hi = this.high[i];
      const loOk = Number.isFinite(lo);
      const hiOk = Number.isFinite(hi);
      if (loOk && hiOk) out[i] = lo + (hi - lo) * this.rng.uniform();
      else if (loOk) out[i] = lo - Math.log1p(-this.rng.uniform());
      else if (hiOk) out[i] = hi + Math.log1p(-this.rng.uniform());
      else out[i] = standardNormal(this.rng);
    }
    return out;
  }

  /** Reseeds `sample()`'s stream; without a seed, from Math.random (as Gymnasium seeds from entropy). */
  seed(seed?: number): void {
    this.rng = new Rng(seed === undefined ? entropySeed() : checkSeed(seed, 'Box.seed'));
  }

  toString(): string {
    return `Box(${fmt(this.low)}, ${fmt(this.high)}, [${this.shape.join(', ')}])`;
  }
}

/** The integers start, start + 1, …, start + n − 1 (Gymnasium's `Discrete(n, start)`). */
export class Discrete {
  readonly kind = 'discrete' as const;
  private rng: Rng = new Rng(entropySeed());

  constructor(
    readonly n: number,
    readonly start = 0,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new ConfigError('Discrete.n', `must be a positive integer, got ${n}`);
    if (!Number.isInteger(start)) throw new ConfigError('Discrete.start', `must be an integer, got ${start}`);
  }

  contains(x: number): boolean {
    return typeof x === 'number' && Number.isInteger(x) && x >= this.start && x < this.start + this.n;
  }

  /** A uniformly random element, from the space's own stream (`seed()` it). */
  sample(): number {
    return this.start + this.rng.int(0, this.n - 1);
  }

  seed(seed?: number): void {
    this.rng = new Rng(seed === undefined ? entropySeed() : checkSeed(seed, 'Discrete.seed'));
  }

  toString(): string {
    return this.start === 0 ? `Discrete(${this.n})` : `Discrete(${this.n}, start=${this.start})`;
  }
}

export type Space = Box | Discrete;

/** The action type a space takes: a number for Discrete, an array of `size` numbers for Box. */
export type ActionOf<S extends Space> = S extends Discrete ? number : ArrayLike<number>;

/**
 * Checks an action against an action space and returns it as the env uses it (a number, or a
 * Float64Array copy). Discrete: an integer in range. Box: an array of the box's size with finite
 * values; values outside [low, high] are allowed (each env clips as Gymnasium's does, and
 * ClipAction clips before). Throws InvalidActionError naming the env and what was expected.
 */
export function checkAction(env: string, space: Space, action: unknown): number | Float64Array {
  if (space.kind === 'discrete') {
    const range = `an integer in ${space.start}..${space.start + space.n - 1} (${space})`;
    if (typeof action !== 'number') throw new InvalidActionError(env, action, `expected ${range}`);
    if (Number.isNaN(action)) throw new InvalidActionError(env, action, `NaN; expected ${range}`);
    if (!space.contains(action)) throw new InvalidActionError(env, action, `expected ${range}`);
    return action;
  }
  const expected = `an array of ${space.size} finite number${space.size === 1 ? '' : 's'} (${space})`;
  if (action === null || typeof action !== 'object' || typeof (action as ArrayLike<number>).length !== 'number')
    throw new InvalidActionError(env, action, `expected ${expected}`);
  const a = action as ArrayLike<unknown>;
  if (a.length !== space.size)
    throw new InvalidActionError(env, action, `has ${a.length} values; expected ${expected}`);
  const out = new Float64Array(space.size);
  for (let i = 0; i < space.size; i++) {
    const v = a[i];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new InvalidActionError(env, action, `value ${i} is ${String(v)}; expected ${expected}`);
    out[i] = v;
  }
  return out;
}

/** A seed for `reset({ seed })` and `space.seed()`: an integer in [0, 2^32). */
export function checkSeed(seed: number, field = 'seed'): number {
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32)
    throw new ConfigError(field, `must be an integer in [0, 2^32), got ${seed}`);
  return seed;
}

/** A seed from Math.random, for streams the user did not seed (Gymnasium seeds those from the OS). */
export function entropySeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}

/** N(0, 1) by Box–Muller on two uniforms of `rng`. */
export function standardNormal(rng: Rng): number {
  const u1 = 1 - rng.uniform(); // (0, 1]: log(u1) is finite
  const u2 = rng.uniform();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

function fill(v: number | ArrayLike<number>, size: number, field: string): Float32Array {
  if (typeof v === 'number') return new Float32Array(size).fill(v);
  if (v.length !== size) throw new ConfigError(field, `has ${v.length} values; the shape has ${size}`);
  return Float32Array.from(v);
}

function fmt(a: Float32Array): string {
  const all = Array.from(a);
  if (all.every((x) => x === all[0])) return String(all[0]);
  return `[${all.map((x) => Number(x.toPrecision(6))).join(', ')}]`;
}
