import { ConfigError, type Rng } from '@hypernets/core';

/** HyperPPO's hidden-layer widths (Hegde et al. 2024, hegde95/HyperPPO `allowable_layers`). */
export const HYPERPPO_WIDTHS: readonly number[] = [4, 8, 16, 32, 64, 128, 256];
/** HyperPPO's deepest policy: 4 hidden layers. */
export const HYPERPPO_MAX_DEPTH = 4;

/**
 * How an iteration's architectures are drawn (the reference's `arch_sampling_mode`; its third
 * mode, `sequential`, is not offered).
 */
export type ArchitectureSampling = 'biased' | 'uniform';

/** Number of values of an MLP policy obs → hidden… → act (weights and biases). */
export function policyParameterCount(hidden: readonly number[], observationSize: number, actionSize: number): number {
  const sizes = [observationSize, ...hidden, actionSize];
  let n = 0;
  for (let l = 0; l + 1 < sizes.length; l++) n += (sizes[l]! + 1) * sizes[l + 1]!;
  return n;
}

/**
 * The policy architectures HyperPPO searches: every MLP with 1…maxDepth hidden layers whose widths
 * come from `widths` (7 + 7² + 7³ + 7⁴ = 2,800 for the paper's space), sorted by parameter count
 * (ties in itertools.product order, as the reference's stable sort), so an architecture's index is
 * its rank by size.
 */
export class ArchitectureSpace {
  readonly widths: readonly number[];
  readonly maxDepth: number;
  readonly observationSize: number;
  readonly actionSize: number;
  /** Hidden widths of every architecture, smallest first. */
  readonly architectures: readonly (readonly number[])[];
  /** Parameter count of each architecture. */
  readonly parameterCounts: Int32Array;
  /** The "biased" sampling probabilities: equal mass per depth, uniform within a depth. */
  readonly biasedProbabilities: Float64Array;

  constructor(options: { observationSize: number; actionSize: number; widths?: readonly number[]; maxDepth?: number }) {
    const widths = [...(options.widths ?? HYPERPPO_WIDTHS)];
    const maxDepth = options.maxDepth ?? HYPERPPO_MAX_DEPTH;
    if (widths.length === 0 || widths.some((w) => !Number.isInteger(w) || w < 1))
      throw new ConfigError('widths', `must be positive integers, got ${JSON.stringify(widths)}`);
    if (new Set(widths).size !== widths.length)
      throw new ConfigError('widths', `must not repeat a width, got ${JSON.stringify(widths)}`);
    if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > 8)
      throw new ConfigError('maxDepth', `must be an integer from 1 to 8, got ${maxDepth}`);
    const count = Array.from({ length: maxDepth }, (_, d) => widths.length ** (d + 1)).reduce((a, b) => a + b, 0);
    if (count > 1_000_000)
      throw new ConfigError(
        'widths',
        `give ${count} architectures (over 1,000,000): fewer widths or a smaller maxDepth`,
      );
    for (const [name, v] of [
      ['observationSize', options.observationSize],
      ['actionSize', options.actionSize],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new ConfigError(name, `must be a positive integer, got ${v}`);
    this.widths = widths;
    this.maxDepth = maxDepth;
    this.observationSize = options.observationSize;
    this.actionSize = options.actionSize;
    const archs: number[][] = [];
    for (let depth = 1; depth <= maxDepth; depth++) archs.push(...product(widths, depth));
    const counts = archs.map((a) => policyParameterCount(a, this.observationSize, this.actionSize));
    const order = archs.map((_, i) => i).sort((a, b) => counts[a]! - counts[b]! || a - b);
    this.architectures = order.map((i) => archs[i]!);
    this.parameterCounts = Int32Array.from(order.map((i) => counts[i]!));
    const perDepth = new Map<number, number>();
    for (const a of this.architectures) perDepth.set(a.length, (perDepth.get(a.length) ?? 0) + 1);
    this.biasedProbabilities = Float64Array.from(
      this.architectures,
      (a) => 1 / perDepth.size / perDepth.get(a.length)!,
    );
  }

  get size(): number {
    return this.architectures.length;
  }

  /** The index of an architecture given by its hidden widths; ConfigError when it is not in the space. */
  indexOf(hidden: readonly number[]): number {
    const key = hidden.join(',');
    const i = this.architectures.findIndex((a) => a.join(',') === key);
    if (i < 0)
      throw new ConfigError(
        'architecture',
        `[${hidden.join(', ')}] is not in the space (1–${this.maxDepth} hidden layers of ${this.widths.join('/')})`,
      );
    return i;
  }

  /**
   * Draws `count` distinct architecture indices: `biased` with equal mass per depth (numpy's
   * `choice(p, replace=False)`: each draw from the remaining mass, renormalised), `uniform` equally.
   */
  sample(rng: Rng, count: number, mode: ArchitectureSampling): Int32Array {
    if (!Number.isInteger(count) || count < 1 || count > this.size)
      throw new ConfigError('metaBatchSize', `must be an integer from 1 to ${this.size}, got ${count}`);
    const p = mode === 'biased' ? Float64Array.from(this.biasedProbabilities) : new Float64Array(this.size).fill(1);
    let mass = p.reduce((a, b) => a + b, 0);
    const out = new Int32Array(count);
    for (let k = 0; k < count; k++) {
      const u = rng.uniform() * mass;
      let acc = 0;
      let pick = -1;
      for (let i = 0; i < p.length; i++) {
        if (p[i] === 0) continue;
        pick = i;
        acc += p[i]!;
        if (u < acc) break;
      }
      out[k] = pick;
      mass -= p[pick]!;
      p[pick] = 0;
    }
    return out;
  }

  /**
   * A stratified sample of `count` architectures for evaluation: the count shared as equally as
   * possible among the depths (a depth with fewer architectures than its share gives all of them
   * and the rest goes to the others), each depth's share spread evenly over its architectures in
   * order of size (its smallest and largest included). Every architecture when `count` ≥ the size.
   */
  stratified(count: number): Int32Array {
    if (!Number.isInteger(count) || count < 1)
      throw new ConfigError('count', `must be a positive integer, got ${count}`);
    if (count >= this.size) return Int32Array.from({ length: this.size }, (_, i) => i);
    const byDepth = new Map<number, number[]>();
    this.architectures.forEach((a, i) => byDepth.set(a.length, [...(byDepth.get(a.length) ?? []), i]));
    const groups = [...byDepth.values()].sort((a, b) => a.length - b.length);
    const picked: number[] = [];
    let left = count;
    groups.forEach((idx, g) => {
      const share = Math.min(idx.length, Math.floor(left / (groups.length - g)));
      left -= share;
      for (let k = 0; k < share; k++)
        picked.push(idx[share === 1 ? 0 : Math.round((k * (idx.length - 1)) / (share - 1))]!);
    });
    return Int32Array.from(picked).sort();
  }
}

function product(widths: readonly number[], depth: number): number[][] {
  let out: number[][] = [[]];
  for (let d = 0; d < depth; d++) out = out.flatMap((p) => widths.map((w) => [...p, w]));
  return out;
}
