import { ConfigError } from '@hypernets/core';
import type { Env } from '../envs/env.js';
import { isRenderable, type RenderFrame } from './shapes.js';

/** An action for an observation: a number (Discrete) or an array (Box); may be async (a policy read back from tfjs). */
export type RolloutPolicy = (
  observation: Float32Array,
) => number | ArrayLike<number> | Promise<number | ArrayLike<number>>;

export interface RolloutOptions {
  /** Seeds the reset (and the random actions without a policy). Default 0. */
  seed?: number;
  /** Steps at most (default 1000); the env's own time limit may end the episode first. */
  maxSteps?: number;
}

export interface RecordedRollout {
  /** The state after the reset, then after each step: steps + 1 frames. */
  frames: RenderFrame[];
  /** The reward of each step. */
  rewards: number[];
  /** The sum of the rewards. */
  return: number;
  steps: number;
  /** The episode reached a terminal state. */
  terminated: boolean;
  /** The env's time limit cut it (not `maxSteps`). */
  truncated: boolean;
}

/** Gymnasium's `render_fps` of each env (its `metadata`; MuJoCo: 1 / dt): the rate its videos play at. */
export const RENDER_FPS: Readonly<Record<string, number>> = {
  'CartPole-v1': 50,
  'Pendulum-v1': 30,
  'MountainCar-v0': 30,
  'MountainCarContinuous-v0': 30,
  'Acrobot-v1': 15,
  'HalfCheetah-v5': 20,
  'Hopper-v5': 125,
  'Walker2d-v5': 125,
  'Ant-v5': 20,
};

/**
 * Runs one episode of `env` (reset with `seed`) and draws every state: `policy` picks each
 * action from the observation (the env's wrappers' observation: pass the env the policy was
 * trained on); without one the actions are the action space's samples, seeded with `seed`. The
 * innermost env (`env.unwrapped`) must draw itself (`Renderable`), else ConfigError. Stops when the
 * episode ends or after `maxSteps`. The frames go to `framesToSvg`.
 */
export async function recordRollout(
  env: Env,
  policy?: RolloutPolicy | null,
  options: RolloutOptions = {},
): Promise<RecordedRollout> {
  const inner = env.unwrapped;
  const name = env.spec?.id ?? inner.constructor.name;
  if (!isRenderable(inner))
    throw new ConfigError('env', `${name} does not draw itself (its innermost env has no renderFrame())`);
  const seed = options.seed ?? 0;
  const maxSteps = options.maxSteps ?? 1000;
  if (!Number.isInteger(maxSteps) || maxSteps < 0)
    throw new ConfigError('maxSteps', `must be a whole number ≥ 0, got ${maxSteps}`);
  if (!policy) env.actionSpace.seed(seed);
  let observation = env.reset({ seed }).observation;
  const frames = [inner.renderFrame()];
  const rewards: number[] = [];
  let terminated = false;
  let truncated = false;
  while (rewards.length < maxSteps && !terminated && !truncated) {
    const action = policy ? await policy(observation) : env.actionSpace.sample();
    const r = env.step(action as never);
    rewards.push(r.reward);
    frames.push(inner.renderFrame());
    observation = r.observation;
    terminated = r.terminated;
    truncated = r.truncated;
  }
  return {
    frames,
    rewards,
    return: rewards.reduce((a, b) => a + b, 0),
    steps: rewards.length,
    terminated,
    truncated,
  };
}
