import { ConfigError } from '@hypernets/core';
import type { Env } from './env.js';

/** How `registerEnv` builds an env: from the options given to `makeEnv`. */
export type EnvFactory = (options: Record<string, unknown>) => Env;

export interface CustomEnvEntry {
  make: EnvFactory;
  /** The TimeLimit makeEnv wraps it in; null (the default) for none. */
  maxEpisodeSteps: number | null;
  rewardThreshold: number | null;
}

const CUSTOM = new Map<string, CustomEnvEntry>();

/** The store behind registry.ts's `registerEnv` (which also refuses the built-in ids). */
export function registerCustomEnv(
  id: string,
  make: EnvFactory,
  options: { maxEpisodeSteps?: number | null; rewardThreshold?: number | null } = {},
): void {
  if (typeof id !== 'string' || id.length === 0) throw new ConfigError('registerEnv id', 'must be a non-empty string');
  if (CUSTOM.has(id))
    throw new ConfigError('registerEnv id', `'${id}' is already registered; unregisterEnv('${id}') first`);
  if (typeof make !== 'function') throw new ConfigError('registerEnv make', 'must be a function (options) => Env');
  const steps = options.maxEpisodeSteps ?? null;
  if (steps !== null && (!Number.isInteger(steps) || steps < 1))
    throw new ConfigError('registerEnv maxEpisodeSteps', `must be a positive integer or null, got ${steps}`);
  CUSTOM.set(id, { make, maxEpisodeSteps: steps, rewardThreshold: options.rewardThreshold ?? null });
}

/** Removes an env registered with `registerEnv`; returns whether there was one. */
export function unregisterCustomEnv(id: string): boolean {
  return CUSTOM.delete(id);
}

/** The entry of a registered custom env, or undefined. */
export function customEnv(id: string): CustomEnvEntry | undefined {
  return CUSTOM.get(id);
}

/** The ids registered with registerEnv, in registration order. */
export function customEnvIds(): string[] {
  return [...CUSTOM.keys()];
}
