import { ConfigError } from '@hypernets/core';
import type { Env } from '../envs/env.js';
import { makeEnv } from '../envs/registry.js';
import type { Box } from '../envs/spaces.js';

/** A family of environments that differ by a context ψ (dynamics or reward parameters). */
export interface ContextFamily {
  /** What it is, e.g. `Pendulum-v1 (pole length l, mass m)`. */
  name: string;
  /** One short name per context value (they make the teachers' file names: `l0.60_m1.20`). */
  contextNames: readonly string[];
  /** Every context, in the teachers' visiting order (each a neighbour of the one before). */
  contexts: readonly (readonly number[])[];
  makeEnv(context: readonly number[]): Env<Box>;
  /** A deterministic teacher returning less than this has failed (it is trained again from scratch). */
  teacherFloor: number;
}

/**
 * Pendulum-v1 with pole length l and mass m on a `grid` × `grid` grid over [lo, hi]² (HyperZero's
 * Pendulum family), visited in a snake (l outer, m up then down) so each context follows a neighbour.
 */
export function pendulumFamily(options: { grid?: number; lo?: number; hi?: number } = {}): ContextFamily {
  const { grid = 5, lo = 0.6, hi = 1.4 } = options;
  if (!Number.isInteger(grid) || grid < 2 || grid > 20)
    throw new ConfigError('grid', `must be an integer in [2, 20], got ${grid}`);
  if (!(lo > 0 && hi > lo && hi <= 100)) throw new ConfigError('lo', `needs 0 < lo < hi ≤ 100, got ${lo} and ${hi}`);
  const axis = Array.from({ length: grid }, (_, i) => Math.round((lo + ((hi - lo) * i) / (grid - 1)) * 1e4) / 1e4);
  return {
    name: 'Pendulum-v1 (pole length l, mass m)',
    contextNames: ['l', 'm'],
    contexts: axis.flatMap((l, i) => (i % 2 === 0 ? axis : [...axis].reverse()).map((m) => [l, m])),
    makeEnv: ([l, m]) => makeEnv('Pendulum-v1', { l, m }) as Env<Box>,
    // a teacher that does not swing the pole up scores about −1,200 … −1,500; one that does, about −150
    teacherFloor: -800,
  };
}
