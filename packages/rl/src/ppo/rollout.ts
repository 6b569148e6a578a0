import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@hypernets/core';
import type { SyncVectorEnv } from '../envs/vector/sync-vector-env.js';
import type { EpisodeStatistics } from '../envs/wrappers/record-episode-statistics.js';
import type { PpoAgent } from './agent.js';
import { sampleCategorical, sampleGaussian } from './distributions.js';
import type { PpoEpisode, PpoTrainEvent, ResolvedPpoTrainerOptions } from './options.js';
import type { PolicyActionHead } from './policy.js';

/** What a rollout reads: the run's sizes, its agent and vectorised envs, and where episodes are reported. */
export interface RolloutContext {
  config: Pick<ResolvedPpoTrainerOptions, 'numSteps' | 'numEnvs' | 'bootstrapTruncated'>;
  policy: PpoAgent;
  envs: SyncVectorEnv;
  head: PolicyActionHead;
  obsSize: number;
  emit: (e: PpoTrainEvent) => Promise<void>;
}

/** One iteration's samples: sample t·N + i is env i's step t. */
export interface Rollout {
  obs: Float32Array;
  /** [T · N · A]: action indices (as floats) for a categorical, values for a Gaussian. */
  actions: Float32Array;
  logProbs: Float32Array;
  rewards: Float32Array;
  dones: Float32Array;
  values: Float32Array;
  truncationValues: Float32Array | undefined;
  nextObs: Float32Array;
  nextDone: Float32Array;
  nextValues: Float32Array;
  globalStep: number;
}

/** 0, 1, …, n − 1. */
export function envIndices(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Steps every env numSteps times with the current policy; fills the rollout buffers. */
export async function collectRollout(
  ctx: RolloutContext,
  rng: Rng,
  startObs: Float32Array,
  startDone: Float32Array,
  startStep: number,
  episodes: PpoEpisode[],
): Promise<Rollout> {
  const c = ctx.config;
  const { numSteps: T, numEnvs: N } = c;
  const O = ctx.obsSize;
  const A = ctx.head.kind === 'discrete' ? 1 : ctx.head.size;
  const ro: Rollout = {
    obs: new Float32Array(T * N * O),
    actions: new Float32Array(T * N * A),
    logProbs: new Float32Array(T * N),
    rewards: new Float32Array(T * N),
    dones: new Float32Array(T * N),
    values: new Float32Array(T * N),
    truncationValues: c.bootstrapTruncated ? new Float32Array(T * N) : undefined,
    nextObs: startObs,
    nextDone: startDone,
    nextValues: new Float32Array(N),
    globalStep: startStep,
  };
  const envs = envIndices(N);
  let obs = startObs;
  let done = startDone;
  for (let t = 0; t < T; t++) {
    ro.obs.set(obs, t * N * O);
    ro.dones.set(done, t * N);
    const x = tf.tensor2d(obs, [N, O]);
    const r = ctx.policy.act(x, envs);
    const [outH, valueH, logStd] = await Promise.all([r.out.data(), r.value.data(), r.logStd?.data() ?? null]);
    tf.dispose([x, r.out, r.value, ...(r.logStd ? [r.logStd] : [])]);
    ro.values.set(valueH, t * N);
    const sampled =
      ctx.head.kind === 'discrete'
        ? sampleCategorical(outH, N, ctx.head.n, rng)
        : sampleGaussian(outH, logStd!, N, rng);
    ro.logProbs.set(sampled.logProbs, t * N);
    ro.actions.set(sampled.actions, t * N * A);
    const step = ctx.envs.step(sampled.actions);
    ro.globalStep += N;
    const nextDone = new Float32Array(N);
    const truncatedAt: number[] = [];
    for (let i = 0; i < N; i++) {
      ro.rewards[t * N + i] = step.rewards[i]!;
      if (step.terminated[i] || step.truncated[i]) nextDone[i] = 1;
      if (c.bootstrapTruncated && step.truncated[i] && !step.terminated[i]) truncatedAt.push(i);
      const ep = (step.infos[i]!.finalInfo as { episode?: EpisodeStatistics } | undefined)?.episode;
      if (ep) {
        episodes.push({ step: ro.globalStep, return: ep.r, length: ep.l });
        await ctx.emit({ type: 'episode', globalStep: ro.globalStep, env: i, return: ep.r, length: ep.l });
      }
    }
    if (truncatedAt.length > 0) {
      const finals = new Float32Array(truncatedAt.length * O);
      truncatedAt.forEach((i, k) => finals.set(step.infos[i]!.finalObservation as Float32Array, k * O));
      const v = await agentValues(ctx, finals, Int32Array.from(truncatedAt));
      truncatedAt.forEach((i, k) => (ro.truncationValues![t * N + i] = v[k]!));
    }
    obs = step.observations;
    done = nextDone;
  }
  ro.nextObs = obs;
  ro.nextDone = done;
  ro.nextValues = await agentValues(ctx, obs, envs);
  return ro;
}

/** V(s) of host observations [n, obs] from envs `envs` [n], read back. */
export async function agentValues(
  ctx: Pick<RolloutContext, 'policy' | 'obsSize'>,
  obs: Float32Array,
  envs: Int32Array,
): Promise<Float32Array> {
  const x = tf.tensor2d(obs, [envs.length, ctx.obsSize]);
  const v = ctx.policy.values(x, envs);
  try {
    return (await v.data()) as Float32Array;
  } finally {
    tf.dispose([x, v]);
  }
}
