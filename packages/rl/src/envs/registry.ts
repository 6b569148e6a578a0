import { ConfigError } from '@hypernets/core';
import { z } from 'zod';
import { UnknownEnvError } from '../errors.js';
import type { Env, EnvSpec } from './env.js';
import { AcrobotEnv } from './classic/acrobot.js';
import { CartPoleEnv } from './classic/cartpole.js';
import type { ClassicControlEnv } from './classic/classic-env.js';
import { ContinuousMountainCarEnv } from './classic/continuous-mountain-car.js';
import { MountainCarEnv } from './classic/mountain-car.js';
import { PendulumEnv } from './classic/pendulum.js';
import type { Box, Discrete, Space } from './spaces.js';
import { TimeLimit } from './wrappers/time-limit.js';

/** The action space of each registered env. */
export interface EnvActionSpaces {
  'CartPole-v1': Discrete;
  'MountainCar-v0': Discrete;
  'MountainCarContinuous-v0': Box;
  'Pendulum-v1': Box;
  'Acrobot-v1': Discrete;
}

export type EnvId = keyof EnvActionSpaces;

/** Options of `makeEnv`: the time limit and the env's own options (Gymnasium's `make` kwargs). */
export interface MakeEnvOptions {
  /** Overrides the registered time limit; null for none. */
  maxEpisodeSteps?: number | null;
  /** CartPole-v1: Sutton & Barto's reward (0 per step, −1 at the fall). */
  suttonBartoReward?: boolean;
  /** Pendulum-v1: gravity (default 10). */
  g?: number;
  /** Pendulum-v1: the pole's mass (default 1). */
  m?: number;
  /** Pendulum-v1: the pole's length (default 1). */
  l?: number;
  /** MountainCar-v0, MountainCarContinuous-v0: the velocity needed at the flag (default 0). */
  goalVelocity?: number;
}

interface Entry {
  maxEpisodeSteps: number;
  rewardThreshold: number | null;
  schema: z.ZodTypeAny;
  make: (kwargs: Record<string, unknown>) => ClassicControlEnv<Space>;
}

const steps = { maxEpisodeSteps: z.number().int().positive().nullable().optional() };
const finite = z.number().finite();

// Gymnasium's registrations (gymnasium/envs/__init__.py): time limits and reward thresholds.
const REGISTRY: Record<EnvId, Entry> = {
  'CartPole-v1': {
    maxEpisodeSteps: 500,
    rewardThreshold: 475.0,
    schema: z.object({ ...steps, suttonBartoReward: z.boolean().optional() }).strict(),
    make: (kw) => new CartPoleEnv(kw),
  },
  'MountainCar-v0': {
    maxEpisodeSteps: 200,
    rewardThreshold: -110.0,
    schema: z.object({ ...steps, goalVelocity: finite.optional() }).strict(),
    make: (kw) => new MountainCarEnv(kw),
  },
  'MountainCarContinuous-v0': {
    maxEpisodeSteps: 999,
    rewardThreshold: 90.0,
    schema: z.object({ ...steps, goalVelocity: finite.optional() }).strict(),
    make: (kw) => new ContinuousMountainCarEnv(kw),
  },
  'Pendulum-v1': {
    maxEpisodeSteps: 200,
    rewardThreshold: null,
    schema: z
      .object({ ...steps, g: finite.optional(), m: finite.positive().optional(), l: finite.positive().optional() })
      .strict(),
    make: (kw) => new PendulumEnv(kw),
  },
  'Acrobot-v1': {
    maxEpisodeSteps: 500,
    rewardThreshold: -100.0,
    schema: z.object({ ...steps }).strict(),
    make: () => new AcrobotEnv(),
  },
};

/** The ids makeEnv knows, in registration order. */
export const ENV_IDS: readonly EnvId[] = Object.keys(REGISTRY) as EnvId[];

export function isEnvId(id: string): id is EnvId {
  return Object.prototype.hasOwnProperty.call(REGISTRY, id);
}

/** The registered spec of an env id (time limit, reward threshold); UnknownEnvError for an unknown id. */
export function envSpec(id: string): EnvSpec {
  if (!isEnvId(id)) throw new UnknownEnvError(id, ENV_IDS);
  const e = REGISTRY[id];
  return { id, maxEpisodeSteps: e.maxEpisodeSteps, rewardThreshold: e.rewardThreshold, kwargs: {} };
}

/**
 * Builds a registered env as Gymnasium's `make` does: the env with its options, wrapped in a
 * TimeLimit of the registered length (CartPole-v1 500, MountainCar-v0 200,
 * MountainCarContinuous-v0 999, Pendulum-v1 200, Acrobot-v1 500) unless `maxEpisodeSteps` says
 * otherwise. The env refuses steps before reset() and after the episode ended (Gymnasium's
 * OrderEnforcing, stricter). An unknown id throws UnknownEnvError listing the known ones; a bad
 * option, ConfigError naming it.
 */
export function makeEnv<Id extends EnvId>(id: Id, options?: MakeEnvOptions): Env<EnvActionSpaces[Id]>;
export function makeEnv(id: string, options?: MakeEnvOptions): Env;
export function makeEnv(id: string, options: MakeEnvOptions = {}): Env {
  if (!isEnvId(id)) throw new UnknownEnvError(id, ENV_IDS);
  const entry = REGISTRY[id];
  const parsed = entry.schema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.');
    throw new ConfigError(`makeEnv('${id}') options${keys ? `.${keys}` : ''}`, issue.message);
  }
  const { maxEpisodeSteps: limit, ...kwargs } = parsed.data as MakeEnvOptions;
  const env = entry.make(kwargs);
  const maxEpisodeSteps = limit === undefined ? entry.maxEpisodeSteps : limit;
  env.spec = { id, maxEpisodeSteps, rewardThreshold: entry.rewardThreshold, kwargs };
  const base = env as unknown as Env;
  return maxEpisodeSteps === null ? base : new TimeLimit(base, maxEpisodeSteps);
}
