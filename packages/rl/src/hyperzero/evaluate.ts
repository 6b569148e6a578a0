import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@hypernets/core';
import type { Env } from '../envs/env.js';
import type { Box } from '../envs/spaces.js';
import { disposePrepared, type ZeroShotModel } from './model.js';

/**
 * The reset seed of episode `episode` of an evaluation seeded `seed`: a 31-bit hash of
 * (seed, episode) (murmur3's finaliser), so the episodes of one evaluation and those of
 * evaluations with nearby seeds start from unrelated states.
 */
export function episodeSeed(seed: number, episode: number): number {
  let x = (Math.imul(seed | 0, 0x9e3779b1) + Math.imul(episode | 0, 0x85ebca6b)) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 1;
}

export interface ZeroShotEvaluation {
  context: number[];
  /** Undiscounted return of each episode. */
  returns: number[];
  /** Steps of each episode. */
  lengths: number[];
  meanReturn: number;
}

export interface ZeroShotEvaluateOptions {
  /** Builds the env of a context. */
  makeEnv: (context: readonly number[]) => Env<Box>;
  /** Episodes per context. */
  episodes: number;
  /** Episode e of every context resets with seed `episodeSeed(seed, e)`. Default 0. */
  seed?: number;
  /** Env action = actionScale · π̂(s). Default: the env's action high bound. */
  actionScale?: number;
  /** End each episode after this many steps at most (before the env's own time limit). Default: no bound. */
  maxSteps?: number;
}

/**
 * Runs the policies a model generates for `contexts` in their envs, with no training on them:
 * `episodes` deterministic episodes per context, every context's every episode stepped together,
 * one batched forward (per-sample weights by context) per step, read back with `await data()`.
 */
export async function evaluateZeroShot(
  model: ZeroShotModel,
  contexts: readonly (readonly number[])[],
  options: ZeroShotEvaluateOptions,
): Promise<ZeroShotEvaluation[]> {
  const { episodes } = options;
  if (!Number.isInteger(episodes) || episodes < 1)
    throw new ConfigError('episodes', `must be a positive integer, got ${episodes}`);
  if (contexts.length === 0) return [];
  const seed = options.seed ?? 0;
  const maxSteps = options.maxSteps ?? Infinity;
  if (!(maxSteps >= 1)) throw new ConfigError('maxSteps', `must be at least 1, got ${options.maxSteps}`);
  const O = model.config.observationSize;
  const A = model.config.actionSize;
  const envs: Env<Box>[] = [];
  const owner: number[] = [];
  for (const [c, ctx] of contexts.entries())
    for (let e = 0; e < episodes; e++) {
      envs.push(options.makeEnv(ctx));
      owner.push(c);
    }
  const scale = options.actionScale ?? envs[0]!.actionSpace.high[0]!;
  const obs = envs.map((env, i) => env.reset({ seed: episodeSeed(seed, i % episodes) }).observation);
  const totals = new Float64Array(envs.length);
  const lengths = new Int32Array(envs.length);
  const active = envs.map(() => true);
  const ctx = tf.tensor2d(contexts.map((c) => [...c]));
  const prepared = model.prepare(ctx);
  ctx.dispose();
  try {
    for (;;) {
      const live = active.flatMap((a, i) => (a ? [i] : []));
      if (live.length === 0) break;
      const x = new Float32Array(live.length * O);
      live.forEach((i, k) => x.set(obs[i]!, k * O));
      const actions = tf.tidy(() =>
        model.act(
          prepared,
          tf.tensor2d(x, [live.length, O]),
          tf.tensor1d(
            live.map((i) => owner[i]!),
            'int32',
          ),
        ),
      );
      const a = await actions.data();
      actions.dispose();
      live.forEach((i, k) => {
        const step = envs[i]!.step(Array.from(a.subarray(k * A, (k + 1) * A), (v) => v * scale));
        totals[i] += step.reward;
        lengths[i] = lengths[i]! + 1;
        obs[i] = step.observation;
        if (step.terminated || step.truncated || lengths[i]! >= maxSteps) active[i] = false;
      });
    }
  } finally {
    disposePrepared(prepared);
    for (const env of envs) env.close();
  }
  return contexts.map((ctx, c) => {
    const returns = Array.from({ length: episodes }, (_, e) => totals[c * episodes + e]!);
    const steps = Array.from({ length: episodes }, (_, e) => lengths[c * episodes + e]!);
    return { context: [...ctx], returns, lengths: steps, meanReturn: returns.reduce((s, r) => s + r, 0) / episodes };
  });
}
