import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  Adam,
  CheckpointError,
  ConfigError,
  Rng,
  TrainingError,
  clipByGlobalNorm,
  restoreVariables,
  type RunOptions,
  type Trainer,
  type TrainerCallbacks,
} from '@hypernets/core';
import {
  RunCheckpoint,
  boundedArray,
  eventEmitter,
  parseTrainingOptions,
  rngStateSchema,
  runSteps,
  trainingOptionsSchema,
} from '@hypernets/core/internal';
import type { Env } from '../envs/env.js';
import { makeEnv, type MakeEnvOptions } from '../envs/registry.js';
import type { Box } from '../envs/spaces.js';
import { SyncVectorEnv } from '../envs/vector/sync-vector-env.js';
import { ClipAction } from '../envs/wrappers/clip-action.js';
import { NormalizeObservation } from '../envs/wrappers/normalize-observation.js';
import { NormalizeReward } from '../envs/wrappers/normalize-reward.js';
import { RecordEpisodeStatistics, type EpisodeStatistics } from '../envs/wrappers/record-episode-statistics.js';
import { RunningMeanStd, type RunningMeanStdState } from '../envs/wrappers/running-mean-std.js';
import { argmaxRows, sampleCategorical, sampleGaussian } from './distributions.js';
import { gae } from './gae.js';
import { ppoLoss } from './loss.js';
import type { PpoAgent } from './agent.js';
import { ActorCritic, type PolicyActionHead } from './policy.js';

/**
 * PPO as CleanRL's `ppo.py` (Discrete actions) and `ppo_continuous_action.py` (Box actions)
 * implement it, with their defaults per env family (`preset`):
 * - vectorised rollouts of `numSteps` steps in each of `numEnvs` envs (SyncVectorEnv, same-step
 *   autoreset), actions sampled from the policy with a seeded Rng;
 * - GAE(λ) over the rollout, a truncation cutting the return like a termination (CleanRL; set
 *   `bootstrapTruncated` for SB3's bootstrap from the final observation's value);
 * - `updateEpochs` passes over the batch in `numMinibatches` shuffled minibatches: clipped
 *   surrogate, clipped value loss, entropy bonus, advantages normalised per minibatch, Adam
 *   (ε 1e-5) with the learning rate annealed linearly to 0, gradients clipped to global norm 0.5,
 *   optional early stop of the epochs when approx KL passes `targetKl`;
 * - `continuous` wraps each env as CleanRL does: ClipAction, NormalizeObservation (clip 10),
 *   NormalizeReward(γ) (clip 10); episode returns are recorded raw, inside them.
 *
 * Checkpoints hold the variables, Adam's moments, the sampling Rng, each env's normalisation
 * statistics and the curves. The envs' own state (positions, time-limit counters) is not saved:
 * instead every checkpoint ends the envs' episodes, and the run, resumed or not, restarts every env
 * with a fresh reset seeded from its Rng (the seed is in the checkpoint). So a resumed run gives
 * the numbers of one that never stopped (same backend); the unfinished episodes at a checkpoint
 * are not counted in the episode statistics (their steps still train).
 */

export const PPO_EVENT_TYPES = ['iteration', 'episode', 'checkpoint', 'resume'] as const;

/** What an iteration reports: the means over every minibatch update of the iteration. */
export interface PpoIterationStats {
  iteration: number;
  /** Env steps so far (all envs). */
  globalStep: number;
  lr: number;
  pgLoss: number;
  vLoss: number;
  entropy: number;
  oldApproxKl: number;
  approxKl: number;
  clipFraction: number;
  /** 1 − Var(R − V) / Var(R) over the rollout (NaN when Var(R) = 0). */
  explainedVariance: number;
  /** Minibatch updates done (fewer than epochs × minibatches after a `targetKl` stop). */
  updates: number;
}

export type PpoTrainEvent =
  | ({
      type: 'iteration';
      iterations: number;
      /** Env steps per second of this run segment (rollouts and updates). */
      stepsPerSecond: number;
      /** Mean raw return of the episodes that ended in this iteration; null if none did. */
      meanReturn: number | null;
    } & PpoIterationStats)
  | { type: 'episode'; globalStep: number; env: number; return: number; length: number }
  | { type: 'checkpoint'; iteration: number; path: string }
  | { type: 'resume'; iteration: number; path: string };

/** CleanRL's defaults per env family. */
export const PPO_PRESETS = {
  /** ppo.py (CartPole, Acrobot, MountainCar). */
  classic: {
    numEnvs: 4,
    numSteps: 128,
    learningRate: 2.5e-4,
    numMinibatches: 4,
    updateEpochs: 4,
    entCoef: 0.01,
    normalize: false,
  },
  /** ppo_continuous_action.py (MuJoCo, Pendulum, MountainCarContinuous). */
  continuous: {
    numEnvs: 1,
    numSteps: 2048,
    learningRate: 3e-4,
    numMinibatches: 32,
    updateEpochs: 10,
    entCoef: 0,
    normalize: true,
  },
} as const;

export type PpoPreset = keyof typeof PPO_PRESETS;

export interface PpoTrainerOptions {
  /** A `makeEnv` id (`CartPole-v1`, `Pendulum-v1`, …). */
  env: string;
  /** Options for `makeEnv` (time limit, env parameters). */
  envOptions?: MakeEnvOptions;
  /** CleanRL's defaults to start from; default `classic` for a Discrete action space, `continuous` for a Box. */
  preset?: PpoPreset;
  /** Env steps to train for (all envs together); the run does ⌊total / (numEnvs · numSteps)⌋ iterations. */
  totalTimesteps: number;
  numEnvs?: number;
  /** Steps per env per rollout. */
  numSteps?: number;
  learningRate?: number;
  /** Anneal the learning rate linearly to 0 over the iterations. Default true. */
  annealLr?: boolean;
  /** Default 0.99. */
  gamma?: number;
  /** GAE's λ. Default 0.95. */
  gaeLambda?: number;
  /** Minibatches per epoch; must divide numEnvs · numSteps. */
  numMinibatches?: number;
  updateEpochs?: number;
  /** Normalise advantages per minibatch. Default true. */
  normAdv?: boolean;
  /** Surrogate (and value) clip ε. Default 0.2. */
  clipCoef?: number;
  /** Clip the value loss. Default true. */
  clipVloss?: boolean;
  entCoef?: number;
  /** Default 0.5. */
  vfCoef?: number;
  /** Global gradient-norm bound. Default 0.5. */
  maxGradNorm?: number;
  /** Stop an iteration's epochs once the last minibatch's approx KL exceeds this. Default null (never). */
  targetKl?: number | null;
  /** Adam's ε. Default 1e-5 (CleanRL). */
  adamEps?: number;
  /** Hidden widths of actor and critic (tanh). Default [64, 64]. */
  hiddenSizes?: readonly number[];
  /** ClipAction (Box only), NormalizeObservation and NormalizeReward around each env. Default: the preset's. */
  normalize?: boolean;
  /** Bootstrap time-limit truncations from V(final observation) (SB3) instead of cutting the return (CleanRL). Default false. */
  bootstrapTruncated?: boolean;
  seed?: number;
  /** Emit an `iteration` event (and read the losses back) every this many iterations. Default 1. */
  logEvery?: number;
  checkpointDir?: string;
  /** Checkpoint every this many iterations (and after the last). */
  checkpointEvery?: number;
  fingerprint?: unknown;
  callbacks?: TrainerCallbacks<PpoTrainEvent>;
}

/** The options after the preset and defaults. */
export interface ResolvedPpoTrainerOptions {
  env: string;
  envOptions: MakeEnvOptions;
  preset: PpoPreset;
  totalTimesteps: number;
  numEnvs: number;
  numSteps: number;
  learningRate: number;
  annealLr: boolean;
  gamma: number;
  gaeLambda: number;
  numMinibatches: number;
  updateEpochs: number;
  normAdv: boolean;
  clipCoef: number;
  clipVloss: boolean;
  entCoef: number;
  vfCoef: number;
  maxGradNorm: number;
  targetKl: number | null;
  adamEps: number;
  hiddenSizes: number[];
  normalize: boolean;
  bootstrapTruncated: boolean;
  seed: number;
  logEvery: number;
  /** numEnvs · numSteps. */
  batchSize: number;
  minibatchSize: number;
  iterations: number;
}

export interface PpoEpisode {
  /** The global step at which the episode ended. */
  step: number;
  return: number;
  length: number;
}

export interface PpoTrainResult {
  env: string;
  iterations: number;
  globalStep: number;
  seconds: number;
  stepsPerSecond: number;
  /** Every finished training episode (raw returns). */
  episodes: PpoEpisode[];
  /** Mean raw return of the last (up to) 100 training episodes; null if none finished. */
  meanReturn: number | null;
  /** The logged iterations. */
  curve: PpoIterationStats[];
}

export interface PpoEvaluation {
  returns: number[];
  lengths: number[];
  meanReturn: number;
}

const rmsStateSchema = z.object({
  mean: boundedArray(z.number().finite()),
  var: boundedArray(z.number().finite().nonnegative()),
  count: z.number().positive(),
});

const statsSchema = z.object({
  iteration: z.number().int(),
  globalStep: z.number().int(),
  lr: z.number(),
  pgLoss: z.number(),
  vLoss: z.number(),
  entropy: z.number(),
  oldApproxKl: z.number(),
  approxKl: z.number(),
  clipFraction: z.number(),
  explainedVariance: z.number().nullable(),
  updates: z.number().int(),
});

const progressSchema = z.object({
  iteration: z.number().int().nonnegative(),
  globalStep: z.number().int().nonnegative(),
  rng: rngStateSchema,
  /** The seed the envs restart from (reset after each checkpoint). */
  envSeed: z.number().int().nonnegative(),
  adam: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  norm: boundedArray(z.object({ obs: rmsStateSchema.nullable(), ret: rmsStateSchema.nullable() })),
  episodes: boundedArray(z.object({ step: z.number().int(), return: z.number(), length: z.number().int() })),
  curve: boundedArray(statsSchema),
});
type Progress = z.infer<typeof progressSchema>;

const posInt = z.number().int().positive();
const unit = z.number().min(0).max(1);
const optionsSchema = trainingOptionsSchema
  .extend({
    env: z.string().min(1),
    envOptions: z.record(z.string(), z.unknown()).optional(),
    preset: z.enum(['classic', 'continuous']).optional(),
    totalTimesteps: posInt,
    numEnvs: posInt.optional(),
    numSteps: posInt.optional(),
    learningRate: z.number().positive().optional(),
    annealLr: z.boolean().default(true),
    gamma: unit.default(0.99),
    gaeLambda: unit.default(0.95),
    numMinibatches: posInt.optional(),
    updateEpochs: posInt.optional(),
    normAdv: z.boolean().default(true),
    clipCoef: z.number().positive().default(0.2),
    clipVloss: z.boolean().default(true),
    entCoef: z.number().nonnegative().optional(),
    vfCoef: z.number().nonnegative().default(0.5),
    maxGradNorm: z.number().positive().default(0.5),
    targetKl: z.number().positive().nullable().default(null),
    adamEps: z.number().positive().default(1e-5),
    hiddenSizes: z.array(posInt).max(16).default([64, 64]),
    normalize: z.boolean().optional(),
    bootstrapTruncated: z.boolean().default(false),
    logEvery: posInt.default(1),
  })
  .strict();

/** What an agent factory gets to build the agent a PpoTrainer trains. */
export interface PpoAgentContext {
  observationSize: number;
  action: PolicyActionHead;
  hiddenSizes: readonly number[];
  seed: number;
}

/**
 * The env steps per second of PPO on CPU are dominated by one host read per rollout step (the actions).
 *
 * The agent is CleanRL's `ActorCritic` unless a subclass passes another `PpoAgent` factory
 * (HyperPPO's trainer does): the rollouts, updates, checkpoints and resume are the same code.
 */
export class PpoTrainer<A extends PpoAgent = ActorCritic> implements Trainer<PpoTrainResult> {
  readonly config: ResolvedPpoTrainerOptions;
  readonly policy: A;
  readonly envs: SyncVectorEnv;
  private readonly obsNorm: (NormalizeObservation | null)[] = [];
  private readonly retNorm: (NormalizeReward | null)[] = [];
  private readonly vars: tf.Variable[];
  private readonly names: string[];
  private readonly adam: Adam;
  private readonly emit: (e: PpoTrainEvent) => Promise<void>;
  private readonly checkpoint: RunCheckpoint<Progress>;
  private readonly head: PolicyActionHead;
  private readonly obsSize: number;

  constructor(options: PpoTrainerOptions, makeAgent?: (context: PpoAgentContext) => A) {
    const o = parseTrainingOptions(optionsSchema, options);
    const envOptions = (o.envOptions ?? {}) as MakeEnvOptions;
    const probe = makeEnv(o.env, envOptions); // an unknown id or bad option fails here
    const space = probe.actionSpace;
    probe.close();
    const preset: PpoPreset = o.preset ?? (space.kind === 'discrete' ? 'classic' : 'continuous');
    const d = PPO_PRESETS[preset];
    const numEnvs = o.numEnvs ?? d.numEnvs;
    const numSteps = o.numSteps ?? d.numSteps;
    const numMinibatches = o.numMinibatches ?? d.numMinibatches;
    const batchSize = numEnvs * numSteps;
    if (batchSize % numMinibatches !== 0)
      throw new ConfigError(
        'numMinibatches',
        `must divide the batch numEnvs × numSteps = ${batchSize}, got ${numMinibatches}`,
      );
    const minibatchSize = batchSize / numMinibatches;
    if (o.normAdv && minibatchSize < 2)
      throw new ConfigError('numMinibatches', `leaves ${minibatchSize} sample per minibatch; normAdv needs ≥ 2`);
    const iterations = Math.floor(o.totalTimesteps / batchSize);
    if (iterations < 1)
      throw new ConfigError('totalTimesteps', `must be at least one batch (numEnvs × numSteps = ${batchSize})`);
    this.config = {
      env: o.env,
      envOptions,
      preset,
      totalTimesteps: o.totalTimesteps,
      numEnvs,
      numSteps,
      learningRate: o.learningRate ?? d.learningRate,
      annealLr: o.annealLr,
      gamma: o.gamma,
      gaeLambda: o.gaeLambda,
      numMinibatches,
      updateEpochs: o.updateEpochs ?? d.updateEpochs,
      normAdv: o.normAdv,
      clipCoef: o.clipCoef,
      clipVloss: o.clipVloss,
      entCoef: o.entCoef ?? d.entCoef,
      vfCoef: o.vfCoef,
      maxGradNorm: o.maxGradNorm,
      targetKl: o.targetKl,
      adamEps: o.adamEps,
      hiddenSizes: [...o.hiddenSizes],
      normalize: o.normalize ?? d.normalize,
      bootstrapTruncated: o.bootstrapTruncated,
      seed: o.seed,
      logEvery: o.logEvery,
      batchSize,
      minibatchSize,
      iterations,
    };
    const c = this.config;
    this.envs = new SyncVectorEnv(Array.from({ length: numEnvs }, () => () => this.makeTrainingEnv()));
    this.obsSize = this.envs.singleObservationSpace.size;
    this.head = space.kind === 'discrete' ? { kind: 'discrete', n: space.n } : { kind: 'box', size: space.size };
    const context = { observationSize: this.obsSize, action: this.head, hiddenSizes: c.hiddenSizes, seed: c.seed };
    this.policy = makeAgent ? makeAgent(context) : (new ActorCritic(context) as unknown as A);
    this.names = Object.keys(this.policy.variables);
    this.vars = this.names.map((n) => this.policy.variables[n]!);
    this.adam = new Adam(this.vars, { lr: c.learningRate, eps: c.adamEps });
    this.emit = eventEmitter(PPO_EVENT_TYPES, (o.callbacks ?? {}) as TrainerCallbacks<PpoTrainEvent>);
    this.checkpoint = new RunCheckpoint({
      dir: o.checkpointDir,
      kind: 'ppo',
      what: 'PPO training',
      progress: progressSchema,
      fingerprint: o.fingerprint ?? null,
      hint: 'use another output directory, or the options it was started with',
    });
    this.checkpointEvery = o.checkpointEvery ?? null;
  }

  private readonly checkpointEvery: number | null;

  /** One training env, wrapped as CleanRL wraps it (episode statistics innermost: raw returns). */
  private makeTrainingEnv(): Env {
    const c = this.config;
    let env: Env = new RecordEpisodeStatistics(makeEnv(c.env, c.envOptions));
    let obs: NormalizeObservation | null = null;
    let ret: NormalizeReward | null = null;
    if (c.normalize) {
      if (env.actionSpace.kind === 'box') env = new ClipAction(env as Env<Box>) as Env;
      env = obs = new NormalizeObservation(env);
      env = ret = new NormalizeReward(env, { gamma: c.gamma });
    }
    this.obsNorm.push(obs);
    this.retNorm.push(ret);
    return env;
  }

  /** The learning rate of iteration `it` (1-based): annealed linearly from learningRate to 0. */
  lrAt(it: number): number {
    const c = this.config;
    return c.annealLr ? (1 - (it - 1) / c.iterations) * c.learningRate : c.learningRate;
  }

  async run(options: RunOptions = {}): Promise<PpoTrainResult> {
    const c = this.config;
    const N = c.numEnvs;
    const seedRng = new Rng(c.seed);
    let p: Progress = {
      iteration: 0,
      globalStep: 0,
      rng: seedRng.fork().getState(),
      envSeed: c.seed,
      adam: 0,
      seconds: 0,
      norm: [],
      episodes: [],
      curve: [],
    };
    if (options.resume) p = (await this.restore()) ?? p;
    const rng = new Rng(p.rng);
    const t0 = performance.now();
    const prior = p.seconds;
    const startStep = p.globalStep;
    let globalStep = p.globalStep;
    const elapsed = () => prior + (performance.now() - t0) / 1000;
    const segmentSps = () => (globalStep - startStep) / Math.max((performance.now() - t0) / 1000, 1e-9);

    let nextObs: Float32Array = this.envs.reset({ seed: p.envSeed }).observations;
    let nextDone: Float32Array = new Float32Array(N);

    const last = await runSteps(
      {
        from: p.iteration,
        to: c.iterations,
        logEvery: c.logEvery,
        checkpointEvery: this.checkpoint.path ? this.checkpointEvery : null,
        checkpointLast: this.checkpoint.path !== null,
      },
      {
        step: async (it, log) => {
          const episodesBefore = p.episodes.length;
          this.policy.startIteration(rng, N);
          const r = await this.rollout(rng, nextObs, nextDone, globalStep, p.episodes);
          nextObs = r.nextObs;
          nextDone = r.nextDone;
          globalStep = r.globalStep;
          const stats = await this.update(rng, r, it, log);
          this.policy.endIteration?.();
          if (log) {
            const entry: PpoIterationStats = { ...stats, iteration: it, globalStep };
            p.curve.push(entry);
            const ended = p.episodes.slice(episodesBefore);
            await this.emit({
              type: 'iteration',
              ...entry,
              iterations: c.iterations,
              stepsPerSecond: segmentSps(),
              meanReturn: ended.length > 0 ? mean(ended.map((e) => e.return)) : null,
            });
          }
        },
        checkpoint: async (it) => {
          const envSeed = rng.int(0, 0x7fffffff); // drawn before the Rng's state is saved
          p = {
            ...p,
            iteration: it,
            globalStep,
            envSeed,
            rng: rng.getState(),
            adam: this.adam.t,
            seconds: elapsed(),
            norm: this.normStates(),
          };
          const path = await this.checkpoint.save({
            step: it,
            progress: p,
            tensors: { ...this.policy.variables, ...this.adam.slots(this.names, 'adam.') },
            meta: { ppoConfig: this.configKey() },
          });
          await this.emit({ type: 'checkpoint', iteration: it, path });
          // The envs restart here, resumed or not (their state is not in the checkpoint).
          nextObs = this.envs.reset({ seed: p.envSeed }).observations;
          nextDone = new Float32Array(N);
        },
      },
    );
    const seconds = elapsed();
    const recent = p.episodes.slice(-100);
    return {
      env: c.env,
      iterations: last,
      globalStep,
      seconds,
      stepsPerSecond: segmentSps(),
      episodes: p.episodes,
      meanReturn: recent.length > 0 ? mean(recent.map((e) => e.return)) : null,
      curve: p.curve.map((e) => ({ ...e, explainedVariance: e.explainedVariance ?? Number.NaN })),
    };
  }

  /** Steps every env numSteps times with the current policy; fills the rollout buffers. */
  private async rollout(
    rng: Rng,
    startObs: Float32Array,
    startDone: Float32Array,
    startStep: number,
    episodes: PpoEpisode[],
  ): Promise<Rollout> {
    const c = this.config;
    const { numSteps: T, numEnvs: N } = c;
    const O = this.obsSize;
    const A = this.head.kind === 'discrete' ? 1 : this.head.size;
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
      const r = this.policy.act(x, envs);
      const [outH, valueH, logStd] = await Promise.all([r.out.data(), r.value.data(), r.logStd?.data() ?? null]);
      tf.dispose([x, r.out, r.value, ...(r.logStd ? [r.logStd] : [])]);
      ro.values.set(valueH, t * N);
      const sampled =
        this.head.kind === 'discrete'
          ? sampleCategorical(outH, N, this.head.n, rng)
          : sampleGaussian(outH, logStd!, N, rng);
      ro.logProbs.set(sampled.logProbs, t * N);
      ro.actions.set(sampled.actions, t * N * A);
      const step = this.envs.step(sampled.actions);
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
          await this.emit({ type: 'episode', globalStep: ro.globalStep, env: i, return: ep.r, length: ep.l });
        }
      }
      if (truncatedAt.length > 0) {
        const finals = new Float32Array(truncatedAt.length * O);
        truncatedAt.forEach((i, k) => finals.set(step.infos[i]!.finalObservation as Float32Array, k * O));
        const v = await this.values(finals, Int32Array.from(truncatedAt));
        truncatedAt.forEach((i, k) => (ro.truncationValues![t * N + i] = v[k]!));
      }
      obs = step.observations;
      done = nextDone;
    }
    ro.nextObs = obs;
    ro.nextDone = done;
    ro.nextValues = await this.values(obs, envs);
    return ro;
  }

  /** V(s) of host observations [n, obs] from envs `envs` [n], read back. */
  private async values(obs: Float32Array, envs: Int32Array): Promise<Float32Array> {
    const x = tf.tensor2d(obs, [envs.length, this.obsSize]);
    const v = this.policy.values(x, envs);
    try {
      return (await v.data()) as Float32Array;
    } finally {
      tf.dispose([x, v]);
    }
  }

  /** GAE, then the epochs of minibatch updates; returns the means of the loss terms when `log`. */
  private async update(
    rng: Rng,
    ro: Rollout,
    it: number,
    log: boolean,
  ): Promise<Omit<PpoIterationStats, 'iteration' | 'globalStep'>> {
    const c = this.config;
    const { advantages, returns } = gae({
      numSteps: c.numSteps,
      numEnvs: c.numEnvs,
      rewards: ro.rewards,
      values: ro.values,
      dones: ro.dones,
      nextValues: ro.nextValues,
      nextDones: ro.nextDone,
      truncationValues: ro.truncationValues,
      gamma: c.gamma,
      lambda: c.gaeLambda,
    });
    const lr = this.lrAt(it);
    const O = this.obsSize;
    const A = this.head.kind === 'discrete' ? 1 : this.head.size;
    const lossOptions = {
      clipCoef: c.clipCoef,
      clipVloss: c.clipVloss,
      normAdv: c.normAdv,
      entCoef: c.entCoef,
      vfCoef: c.vfCoef,
    };
    let sums: tf.Tensor | null = null; // [6]: pg, v, entropy, oldKl, kl, clipfrac summed over updates
    let updates = 0;
    try {
      for (let epoch = 0; epoch < c.updateEpochs; epoch++) {
        let lastKl: tf.Scalar | null = null;
        for (const idx of this.policy.minibatches(rng, c.numSteps, c.numEnvs, c.numMinibatches)) {
          const M = idx.length;
          const envs = idx.map((j) => j % c.numEnvs);
          const mb = {
            obs: new Float32Array(M * O),
            actions: new Float32Array(M * A),
            logProbs: new Float32Array(M),
            advantages: new Float32Array(M),
            returns: new Float32Array(M),
            values: new Float32Array(M),
          };
          idx.forEach((j, k) => {
            mb.obs.set(ro.obs.subarray(j * O, (j + 1) * O), k * O);
            mb.actions.set(ro.actions.subarray(j * A, (j + 1) * A), k * A);
            mb.logProbs[k] = ro.logProbs[j]!;
            mb.advantages[k] = advantages[j]!;
            mb.returns[k] = returns[j]!;
            mb.values[k] = ro.values[j]!;
          });
          const inputs = tf.tidy(() => ({
            obs: tf.tensor2d(mb.obs, [M, O]),
            actions:
              this.head.kind === 'discrete'
                ? tf.tensor1d(Int32Array.from(mb.actions), 'int32')
                : tf.tensor2d(mb.actions, [M, A]),
            logProbs: tf.tensor1d(mb.logProbs),
            advantages: tf.tensor1d(mb.advantages),
            returns: tf.tensor1d(mb.returns),
            values: tf.tensor1d(mb.values),
          }));
          let diag: tf.Tensor | null = null;
          const { value, grads } = tf.variableGrads(() => {
            const ev = this.policy.evaluate(inputs.obs, inputs.actions, envs);
            const terms = ppoLoss(
              {
                newLogProb: ev.logProb,
                oldLogProb: inputs.logProbs,
                advantages: inputs.advantages,
                returns: inputs.returns,
                oldValues: inputs.values,
                newValues: ev.value,
                entropy: ev.entropy,
              },
              lossOptions,
            );
            // variableGrads disposes what its function makes except the loss: keep the diagnostics
            diag = tf.keep(
              tf.stack([
                terms.pgLoss,
                terms.vLoss,
                terms.entropy,
                terms.oldApproxKl,
                terms.approxKl,
                terms.clipFraction,
              ]),
            );
            return terms.loss;
          }, this.vars);
          const clipped = clipByGlobalNorm(
            this.vars.map((v) => grads[v.name] ?? null),
            c.maxGradNorm,
          );
          this.adam.step(clipped.grads, lr);
          tf.dispose([inputs.obs, inputs.actions, inputs.logProbs, inputs.advantages, inputs.returns, inputs.values]);
          tf.dispose([...Object.values(grads), ...clipped.grads.filter((g) => g !== null), clipped.norm, value]);
          const d = diag as unknown as tf.Tensor;
          const prev: tf.Tensor | null = sums;
          sums = prev ? tf.add(prev, d) : tf.clone(d);
          if (prev) prev.dispose();
          if (lastKl) lastKl.dispose();
          lastKl = c.targetKl !== null ? (tf.reshape(tf.slice(d, [4], [1]), []) as tf.Scalar) : null;
          d.dispose();
          updates++;
        }
        if (lastKl) {
          const kl = (await lastKl.data())[0]!;
          lastKl.dispose();
          if (c.targetKl !== null && kl > c.targetKl) break;
        }
      }
      if (!log) return blankStats(lr, updates);
      const s = await sums!.data();
      const m = Array.from(s, (v) => v / updates);
      if (m.some((v) => !Number.isFinite(v)))
        throw new TrainingError(
          `PPO's loss terms at iteration ${it} are not finite (${m.join(', ')}); lower the learning rate`,
        );
      return {
        lr,
        pgLoss: m[0]!,
        vLoss: m[1]!,
        entropy: m[2]!,
        oldApproxKl: m[3]!,
        approxKl: m[4]!,
        clipFraction: m[5]!,
        explainedVariance: explainedVariance(ro.values, returns),
        updates,
      };
    } finally {
      if (sums) (sums as tf.Tensor).dispose();
    }
  }

  /**
   * Loads the run's checkpoint (the variables, Adam's state, the normalisation statistics) without
   * training, as a resume would, e.g. to `evaluate` a saved run, finished or not. Returns where
   * the run stands; null when `checkpointDir` holds no checkpoint yet.
   */
  async restoreCheckpoint(): Promise<{ iteration: number; globalStep: number } | null> {
    const p = await this.restore();
    return p && { iteration: p.iteration, globalStep: p.globalStep };
  }

  /**
   * Runs `episodes` episodes with the deterministic policy (the argmax action, or the Gaussian's
   * mean) on fresh envs seeded `seed`, `seed + 1`, …, observations normalised with the training
   * envs' statistics merged and frozen. Returns the raw returns.
   */
  async evaluate(episodes: number, options: { seed?: number; maxSteps?: number } = {}): Promise<PpoEvaluation> {
    if (!Number.isInteger(episodes) || episodes < 1)
      throw new ConfigError('episodes', `must be a positive integer, got ${episodes}`);
    const c = this.config;
    const seed = options.seed ?? c.seed + 10_000;
    const env = this.makeEvaluationEnv();
    const maxSteps = options.maxSteps ?? Infinity;
    const returns: number[] = [];
    const lengths: number[] = [];
    for (let ep = 0; ep < episodes; ep++) {
      let obs = env.reset({ seed: seed + ep }).observation;
      let total = 0;
      let length = 0;
      for (;;) {
        const x = tf.tensor2d(obs, [1, this.obsSize]);
        const out = this.policy.act(x, envIndices(1));
        const h = await out.out.data();
        tf.dispose([x, out.out, out.value, ...(out.logStd ? [out.logStd] : [])]);
        const action = this.head.kind === 'discrete' ? argmaxRows(h, 1, this.head.n)[0]! : Array.from(h);
        const r = env.step(action as never);
        total += r.reward;
        length++;
        obs = r.observation;
        if (r.terminated || r.truncated || length >= maxSteps) break;
      }
      returns.push(total);
      lengths.push(length);
    }
    env.close();
    return { returns, lengths, meanReturn: mean(returns) };
  }

  /**
   * An env as the policy sees it at evaluation: ClipAction and NormalizeObservation with the
   * training envs' statistics merged and frozen (when the run normalises); raw rewards.
   */
  makeEvaluationEnv(): Env {
    const c = this.config;
    let env: Env = makeEnv(c.env, c.envOptions);
    if (c.normalize) {
      if (env.actionSpace.kind === 'box') env = new ClipAction(env as Env<Box>) as Env;
      const norm = new NormalizeObservation(env);
      norm.updateRunningMean = false;
      norm.obsRms.setState(this.mergedObsStats()!.getState());
      env = norm;
    }
    return env;
  }

  /** The training envs' observation statistics merged (Chan et al.); null without normalisation. */
  mergedObsStats(): RunningMeanStd | null {
    const all = this.obsNorm.filter((n): n is NormalizeObservation => n !== null);
    if (all.length === 0) return null;
    const merged = new RunningMeanStd(this.obsSize);
    merged.setState(all[0]!.obsRms.getState());
    for (const n of all.slice(1)) merged.updateFromMoments(n.obsRms.mean, n.obsRms.var, n.obsRms.count);
    return merged;
  }

  private normStates(): Progress['norm'] {
    return this.obsNorm.map((o, i) => ({
      obs: o ? o.obsRms.getState() : null,
      ret: this.retNorm[i] ? this.retNorm[i]!.returnRms.getState() : null,
    }));
  }

  /** What must match for a checkpoint to resume: everything that shapes the run, not its logging. */
  private configKey(): Record<string, unknown> {
    const { logEvery: _l, ...rest } = this.config;
    return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
  }

  private async restore(): Promise<Progress | null> {
    const p = await this.checkpoint.restore((ck, p) => {
      const want = JSON.stringify(this.configKey());
      const have = JSON.stringify(ck.meta.ppoConfig ?? null);
      if (want !== have)
        throw new CheckpointError(ck.paths.meta, `was written by the PPO run ${have}; this run's is ${want}`);
      if (p.iteration > this.config.iterations)
        throw new CheckpointError(
          ck.paths.meta,
          `is at iteration ${p.iteration}, past this run's ${this.config.iterations}`,
        );
      const norm = this.normStates();
      const sameNorm =
        p.norm.length === norm.length &&
        p.norm.every(
          (n, i) =>
            (n.obs === null) === (norm[i]!.obs === null) &&
            (n.ret === null) === (norm[i]!.ret === null) &&
            (n.obs === null || (n.obs.mean.length === this.obsSize && n.obs.var.length === this.obsSize)) &&
            (n.ret === null || (n.ret.mean.length === 1 && n.ret.var.length === 1)),
        );
      if (!sameNorm)
        throw new CheckpointError(ck.paths.meta, `holds normalisation statistics that do not fit this run's envs`);
      restoreVariables(ck, { ...this.policy.variables, ...this.adam.slots(this.names, 'adam.') });
      this.adam.t = p.adam;
      p.norm.forEach((n, i) => {
        if (n.obs) this.obsNorm[i]!.obsRms.setState(n.obs as RunningMeanStdState);
        if (n.ret) this.retNorm[i]!.returnRms.setState(n.ret as RunningMeanStdState);
      });
    });
    if (p) await this.emit({ type: 'resume', iteration: p.iteration, path: this.checkpoint.path! });
    return p;
  }

  /** Frees the policy's variables and Adam's state, and closes the envs. */
  dispose(): void {
    this.adam.dispose();
    this.policy.dispose();
    this.envs.close();
  }
}

interface Rollout {
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
function envIndices(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function blankStats(lr: number, updates: number): Omit<PpoIterationStats, 'iteration' | 'globalStep'> {
  const nan = Number.NaN;
  return {
    lr,
    pgLoss: nan,
    vLoss: nan,
    entropy: nan,
    oldApproxKl: nan,
    approxKl: nan,
    clipFraction: nan,
    explainedVariance: nan,
    updates,
  };
}

/** 1 − Var(R − V) / Var(R) (population variances, as numpy's np.var); NaN when Var(R) = 0. */
export function explainedVariance(values: ArrayLike<number>, returns: ArrayLike<number>): number {
  const n = returns.length;
  let mr = 0;
  let md = 0;
  for (let i = 0; i < n; i++) {
    mr += returns[i]!;
    md += returns[i]! - values[i]!;
  }
  mr /= n;
  md /= n;
  let vr = 0;
  let vd = 0;
  for (let i = 0; i < n; i++) {
    vr += (returns[i]! - mr) ** 2;
    vd += (returns[i]! - values[i]! - md) ** 2;
  }
  return vr === 0 ? Number.NaN : 1 - vd / vr;
}
