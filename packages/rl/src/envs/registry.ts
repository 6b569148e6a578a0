import { ConfigError } from '@hypernets/core';
import { z } from 'zod';
import { UnknownEnvError } from '../errors.js';
import type { Env, EnvSpec } from './env.js';
import { AcrobotEnv } from './classic/acrobot.js';
import { CartPoleEnv } from './classic/cartpole.js';
import { customEnv, customEnvIds, registerCustomEnv, unregisterCustomEnv, type EnvFactory } from './custom.js';
import { ContinuousMountainCarEnv } from './classic/continuous-mountain-car.js';
import { MountainCarEnv } from './classic/mountain-car.js';
import { PendulumEnv } from './classic/pendulum.js';
import { AntEnv } from './mujoco/ant.js';
import { HalfCheetahEnv } from './mujoco/half-cheetah.js';
import { HopperEnv, Walker2dEnv } from './mujoco/hopper.js';
import type { Box, Discrete } from './spaces.js';
import { TimeLimit } from './wrappers/time-limit.js';

/** The action space of each registered env. */
export interface EnvActionSpaces {
  'CartPole-v1': Discrete;
  'MountainCar-v0': Discrete;
  'MountainCarContinuous-v0': Box;
  'Pendulum-v1': Box;
  'Acrobot-v1': Discrete;
  'HalfCheetah-v5': Box;
  'Hopper-v5': Box;
  'Walker2d-v5': Box;
  'Ant-v5': Box;
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
  /** MuJoCo envs: Gymnasium v5's options, camelCased (forward_reward_weight → forwardRewardWeight, …). */
  forwardRewardWeight?: number;
  ctrlCostWeight?: number;
  resetNoiseScale?: number;
  excludeCurrentPositionsFromObservation?: boolean;
  /** MuJoCo envs: another robot's MJCF text (Gymnasium's xml_file); default: the package's model. */
  xml?: string;
  /** Hopper-v5, Walker2d-v5, Ant-v5. */
  healthyReward?: number;
  terminateWhenUnhealthy?: boolean;
  healthyZRange?: [number, number];
  /** Hopper-v5, Walker2d-v5. */
  healthyAngleRange?: [number, number];
  /** Hopper-v5. */
  healthyStateRange?: [number, number];
  /** Ant-v5. */
  contactCostWeight?: number;
  contactForceRange?: [number, number];
  mainBody?: number | string;
  includeCfrcExtInObservation?: boolean;
}

interface Entry {
  maxEpisodeSteps: number;
  rewardThreshold: number | null;
  schema: z.ZodTypeAny;
  make: (kwargs: Record<string, unknown>) => { spec: EnvSpec | null };
}

const steps = { maxEpisodeSteps: z.number().int().positive().nullable().optional() };
const finite = z.number().finite();
const pair = z.tuple([z.number(), z.number()]);
const mujocoCommon = {
  forwardRewardWeight: finite.optional(),
  ctrlCostWeight: finite.optional(),
  resetNoiseScale: finite.nonnegative().optional(),
  excludeCurrentPositionsFromObservation: z.boolean().optional(),
  xml: z.string().optional(),
};
const healthy = {
  healthyReward: finite.optional(),
  terminateWhenUnhealthy: z.boolean().optional(),
  healthyZRange: pair.optional(),
};
const walker = { ...mujocoCommon, ...healthy, healthyAngleRange: pair.optional() };

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
  // MuJoCo (await loadMujoco() first)
  'HalfCheetah-v5': {
    maxEpisodeSteps: 1000,
    rewardThreshold: 4800.0,
    schema: z.object({ ...steps, ...mujocoCommon }).strict(),
    make: (kw) => new HalfCheetahEnv(kw),
  },
  'Hopper-v5': {
    maxEpisodeSteps: 1000,
    rewardThreshold: 3800.0,
    schema: z.object({ ...steps, ...walker, healthyStateRange: pair.optional() }).strict(),
    make: (kw) => new HopperEnv(kw),
  },
  'Walker2d-v5': {
    maxEpisodeSteps: 1000,
    rewardThreshold: null,
    schema: z.object({ ...steps, ...walker }).strict(),
    make: (kw) => new Walker2dEnv(kw),
  },
  'Ant-v5': {
    maxEpisodeSteps: 1000,
    rewardThreshold: 6000.0,
    schema: z
      .object({
        ...steps,
        ...mujocoCommon,
        ...healthy,
        contactCostWeight: finite.optional(),
        contactForceRange: pair.optional(),
        mainBody: z.union([z.number().int().nonnegative(), z.string()]).optional(),
        includeCfrcExtInObservation: z.boolean().optional(),
      })
      .strict(),
    make: (kw) => new AntEnv(kw),
  },
};

/** The ids makeEnv knows, in registration order. */
export const ENV_IDS: readonly EnvId[] = Object.keys(REGISTRY) as EnvId[];

export function isEnvId(id: string): id is EnvId {
  return Object.prototype.hasOwnProperty.call(REGISTRY, id);
}

/** Every id makeEnv knows now: the built-in ones, then those registered with registerEnv. */
export function knownEnvIds(): string[] {
  return [...ENV_IDS, ...customEnvIds()];
}

/** The ids that need `await loadMujoco()` before makeEnv. */
export const MUJOCO_ENV_IDS: readonly EnvId[] = ['HalfCheetah-v5', 'Hopper-v5', 'Walker2d-v5', 'Ant-v5'];

/**
 * Registers an env of your own under `id` (Gymnasium's `register`): `makeEnv(id, options)` — and
 * so the trainers, which build their envs with makeEnv — then calls `make(options)` and wraps the
 * env in a TimeLimit of `maxEpisodeSteps` when one is given. A taken id is refused (ConfigError):
 * `unregisterEnv` it first.
 */
export function registerEnv(
  id: string,
  make: EnvFactory,
  options: { maxEpisodeSteps?: number | null; rewardThreshold?: number | null } = {},
): void {
  if (typeof id === 'string' && isEnvId(id))
    throw new ConfigError('registerEnv id', `'${id}' is a built-in env; choose another id`);
  registerCustomEnv(id, make, options);
}

/** Removes an env registered with registerEnv; returns whether there was one. */
export function unregisterEnv(id: string): boolean {
  return unregisterCustomEnv(id);
}

/** The registered spec of an env id (time limit, reward threshold); UnknownEnvError for an unknown id. */
export function envSpec(id: string): EnvSpec {
  const custom = customEnv(id);
  if (custom)
    return { id, maxEpisodeSteps: custom.maxEpisodeSteps, rewardThreshold: custom.rewardThreshold, kwargs: {} };
  if (!isEnvId(id)) throw new UnknownEnvError(id, knownEnvIds());
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
  const custom = customEnv(id);
  if (custom) {
    const { maxEpisodeSteps: limit, ...kwargs } = options as Record<string, unknown>;
    const env = custom.make(kwargs);
    const maxEpisodeSteps = limit === undefined ? custom.maxEpisodeSteps : (limit as number | null);
    const spec = { id, maxEpisodeSteps, rewardThreshold: custom.rewardThreshold, kwargs };
    try {
      (env as { spec: EnvSpec | null }).spec = spec;
    } catch {
      // an env whose spec is read-only keeps its own
    }
    return maxEpisodeSteps === null ? env : new TimeLimit(env, maxEpisodeSteps);
  }
  if (!isEnvId(id)) throw new UnknownEnvError(id, knownEnvIds());
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
