// The Gymnasium transitions recorded by scripts/classic-control-fixtures.py (test-only).
import data from './fixtures/classic-control.json';

/** [state, action, next state, observation, reward, terminated]. */
export type FixtureCase = [number[], number | number[], number[], number[], number, boolean];

export interface FixtureEnv {
  id: string;
  kwargs: Record<string, number>;
  cases: FixtureCase[];
  trajectory: {
    start: number[];
    start_dtype: string;
    /** [action, observation, reward, terminated] per step. */
    steps: [number | number[], number[], number, boolean][];
  } | null;
}

export const fixtures = data as unknown as {
  gymnasium_version: string;
  envs: FixtureEnv[];
};

/** |a − b| <= tol · max(1, |b|): relative for large values, absolute near zero. */
export function close(a: number, b: number, tol = 1e-6): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}
