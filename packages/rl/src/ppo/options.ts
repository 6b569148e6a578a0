import { z } from 'zod';
import { ConfigError, type TrainerCallbacks } from '@hypernets/core';
import { parseTrainingOptions, trainingOptionsSchema } from '@hypernets/core/internal';
import { makeEnv, type MakeEnvOptions } from '../envs/registry.js';
import type { Space } from '../envs/spaces.js';
import type { PolicyActionHead } from './policy.js';

// PPO's options (CleanRL's presets and defaults), events and results; ppo/trainer.ts runs them.

/** The events a PpoTrainer emits (callbacks `onIteration`, `onEpisode`, `onCheckpoint`, `onResume`, or `onEvent`). */
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

/** The options after the preset and defaults, with the action space they were resolved for. */
export interface ResolvedPpoRun {
  config: ResolvedPpoTrainerOptions;
  /** The env's action space (it picks the preset and the agent's action head). */
  actionSpace: Space;
  checkpointDir: string | undefined;
  checkpointEvery: number | null;
  fingerprint: unknown;
  callbacks: TrainerCallbacks<PpoTrainEvent>;
}

/** Validates `options` (a typed ConfigError naming the option) and applies the preset and defaults. */
export function resolvePpoOptions(options: PpoTrainerOptions): ResolvedPpoRun {
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
  const config: ResolvedPpoTrainerOptions = {
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
  return {
    config,
    actionSpace: space,
    checkpointDir: o.checkpointDir,
    checkpointEvery: o.checkpointEvery ?? null,
    fingerprint: o.fingerprint ?? null,
    callbacks: (o.callbacks ?? {}) as TrainerCallbacks<PpoTrainEvent>,
  };
}
