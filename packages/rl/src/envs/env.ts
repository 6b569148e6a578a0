import type { ActionOf, Box, Space } from './spaces.js';

/** Extra information a reset or step returns (Gymnasium's `info` dict). */
export type Info = Record<string, unknown>;

export interface ResetOptions {
  /**
   * Reseeds the env's random stream (an integer in [0, 2^32)). Without it the stream goes on; the
   * first reset without a seed seeds from Math.random, as Gymnasium seeds from the OS.
   */
  seed?: number;
  /** Per-env reset options (e.g. `{ low, high }` for the initial-state bounds). */
  options?: Record<string, unknown>;
}

export interface ResetResult {
  observation: Float32Array;
  info: Info;
}

export interface StepResult {
  observation: Float32Array;
  reward: number;
  /** The episode reached a terminal state of the task (the pole fell, the car reached the flag). */
  terminated: boolean;
  /** The episode was cut short from outside the task (the time limit). */
  truncated: boolean;
  info: Info;
}

/** What the registry knows of an env (Gymnasium's EnvSpec, the fields that matter here). */
export interface EnvSpec {
  id: string;
  /** The TimeLimit makeEnv wraps the env in; null for none. */
  maxEpisodeSteps: number | null;
  /** The return at which the task counts as solved; null where Gymnasium sets none (Pendulum). */
  rewardThreshold: number | null;
  /** The env options makeEnv was called with (after defaults). */
  kwargs: Record<string, unknown>;
}

/**
 * A Gymnasium-style environment. Observations are float32 arrays (the observation space's dtype,
 * as Gymnasium's classic-control envs return them); actions are a number for a Discrete action
 * space and an array for a Box.
 */
export interface Env<S extends Space = Space> {
  readonly observationSpace: Box;
  readonly actionSpace: S;
  readonly spec: EnvSpec | null;
  /** The innermost env under all wrappers. */
  readonly unwrapped: Env<Space>;
  reset(options?: ResetOptions): ResetResult;
  step(action: ActionOf<S>): StepResult;
  close(): void;
}
