import { ConfigError, Rng } from '@hypernets/core';
import type { TeacherRollout } from './teacher.js';

/**
 * The near-optimal solutions HyperZero learns from (the reference's `RLSolutionDataset`): every
 * transition of every teacher's deterministic rollouts, with the context it came from.
 */
export interface ZeroShotDataset {
  /** The distinct contexts ψ, [C][contextSize]. */
  contexts: number[][];
  /** The context of each transition: an index into `contexts` [n]. */
  contextIndex: Int32Array;
  /** s [n, obs]. */
  states: Float32Array;
  /** The teacher's action a* in [−1, 1] [n, act]. */
  actions: Float32Array;
  /** r [n]. */
  rewards: Float32Array;
  /** s' [n, obs]. */
  nextStates: Float32Array;
  /** The TD target's discount of each transition [n]: γ, or 0 after a termination. */
  discounts: Float32Array;
  /** Q*(s, a*) [n]. */
  values: Float32Array;
  observationSize: number;
  actionSize: number;
}

/**
 * Joins teachers' rollouts into one dataset. `gamma` sets the TD term's discount (γ·(1 − done));
 * the reference stores DMC's time-step discount instead, which is 1 on every non-terminal step
 * (see the README), so there the TD target is r + Q̂(s', π̂(s')).
 */
export function buildDataset(
  parts: readonly { context: readonly number[]; rollout: TeacherRollout }[],
  gamma: number,
): ZeroShotDataset {
  if (parts.length === 0) throw new ConfigError('parts', 'needs at least one context');
  if (!(gamma >= 0 && gamma <= 1)) throw new ConfigError('gamma', `must be in [0, 1], got ${gamma}`);
  const O = parts[0]!.rollout.observationSize;
  const A = parts[0]!.rollout.actionSize;
  const psi = parts[0]!.context.length;
  let n = 0;
  for (const [i, p] of parts.entries()) {
    if (p.rollout.observationSize !== O || p.rollout.actionSize !== A || p.context.length !== psi)
      throw new ConfigError(`parts[${i}]`, 'has other observation, action or context sizes than parts[0]');
    n += p.rollout.rewards.length;
  }
  const d: ZeroShotDataset = {
    contexts: parts.map((p) => [...p.context]),
    contextIndex: new Int32Array(n),
    states: new Float32Array(n * O),
    actions: new Float32Array(n * A),
    rewards: new Float32Array(n),
    nextStates: new Float32Array(n * O),
    discounts: new Float32Array(n),
    values: new Float32Array(n),
    observationSize: O,
    actionSize: A,
  };
  let at = 0;
  parts.forEach((p, c) => {
    const r = p.rollout;
    const m = r.rewards.length;
    d.contextIndex.fill(c, at, at + m);
    d.states.set(r.states, at * O);
    d.actions.set(r.actions, at * A);
    d.rewards.set(r.rewards, at);
    d.nextStates.set(r.nextStates, at * O);
    for (let i = 0; i < m; i++) d.discounts[at + i] = gamma * (1 - r.dones[i]!);
    d.values.set(r.values, at);
    at += m;
  });
  checkDataset(d, 'dataset');
  return d;
}

/** Checks a dataset's sizes and values; ConfigError naming the field. */
export function checkDataset(d: ZeroShotDataset, what: string): number {
  const n = d.contextIndex?.length ?? -1;
  if (!(n > 0)) throw new ConfigError(`${what}.contextIndex`, 'must be a non-empty Int32Array');
  const O = d.observationSize;
  const A = d.actionSize;
  if (!Number.isInteger(O) || O < 1 || !Number.isInteger(A) || A < 1)
    throw new ConfigError(`${what}`, `needs positive integer observationSize and actionSize, got ${O} and ${A}`);
  if (!Array.isArray(d.contexts) || d.contexts.length === 0)
    throw new ConfigError(`${what}.contexts`, 'must be a non-empty array of contexts');
  const psi = d.contexts[0]!.length;
  d.contexts.forEach((c, i) => {
    if (c.length !== psi || c.some((v) => !Number.isFinite(v)))
      throw new ConfigError(`${what}.contexts[${i}]`, `must hold ${psi} finite numbers`);
  });
  const sizes: [keyof ZeroShotDataset, number][] = [
    ['states', n * O],
    ['actions', n * A],
    ['rewards', n],
    ['nextStates', n * O],
    ['discounts', n],
    ['values', n],
  ];
  for (const [k, len] of sizes) {
    const a = d[k] as Float32Array;
    if (!(a instanceof Float32Array) || a.length !== len)
      throw new ConfigError(`${what}.${k}`, `must be a Float32Array of ${len} values, got ${a?.length}`);
    for (let i = 0; i < a.length; i++)
      if (!Number.isFinite(a[i]!)) throw new ConfigError(`${what}.${k}[${i}]`, `is not finite (${a[i]})`);
  }
  for (let i = 0; i < n; i++) {
    const c = d.contextIndex[i]!;
    if (c < 0 || c >= d.contexts.length)
      throw new ConfigError(`${what}.contextIndex[${i}]`, `is ${c}, outside the ${d.contexts.length} contexts`);
  }
  return n;
}

/** The cartesian product of value lists: `contextGrid([[a, b], [x, y]])` → [[a, x], [a, y], [b, x], [b, y]]. */
export function contextGrid(axes: readonly (readonly number[])[]): number[][] {
  let out: number[][] = [[]];
  for (const axis of axes) out = out.flatMap((prefix) => axis.map((v) => [...prefix, v]));
  return out;
}

/**
 * The reference's split of the contexts (`utils/dataset.py`): shuffle with a seeded generator,
 * hold out the first ⌊testFraction · C⌋, train on the rest. Seeded with core's Rng (not numpy's).
 */
export function splitContexts<T>(
  contexts: readonly T[],
  options: { testFraction?: number; seed?: number } = {},
): { train: T[]; test: T[] } {
  const f = options.testFraction ?? 0.2;
  if (!(f >= 0 && f < 1)) throw new ConfigError('testFraction', `must be in [0, 1), got ${f}`);
  const order = new Rng(options.seed ?? 0).permutation(contexts.length);
  const shuffled = Array.from(order, (i) => contexts[i]!);
  const testSize = Math.floor(f * contexts.length);
  return { train: shuffled.slice(testSize), test: shuffled.slice(0, testSize) };
}
