import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  Adam,
  CheckpointError,
  ConfigError,
  Rng,
  restoreVariables,
  type RunOptions,
  type Trainer,
} from '@hypernets/core';
import { RunCheckpoint, boundedArray, eventEmitter, rngStateSchema, runSteps } from '@hypernets/core/internal';
import type { Env } from '../envs/env.js';
import { makeEnv } from '../envs/registry.js';
import type { Box } from '../envs/spaces.js';
import { SyncVectorEnv } from '../envs/vector/sync-vector-env.js';
import { ClipAction } from '../envs/wrappers/clip-action.js';
import { NormalizeObservation } from '../envs/wrappers/normalize-observation.js';
import { NormalizeReward } from '../envs/wrappers/normalize-reward.js';
import { RecordEpisodeStatistics } from '../envs/wrappers/record-episode-statistics.js';
import { RunningMeanStd, type RunningMeanStdState } from '../envs/wrappers/running-mean-std.js';
import type { PpoAgent } from './agent.js';
import { argmaxRows } from './distributions.js';
import {
  PPO_EVENT_TYPES,
  resolvePpoOptions,
  type PpoAgentContext,
  type PpoEvaluation,
  type PpoIterationStats,
  type PpoTrainEvent,
  type PpoTrainResult,
  type PpoTrainerOptions,
  type ResolvedPpoTrainerOptions,
} from './options.js';
import { ActorCritic, type PolicyActionHead } from './policy.js';
import { collectRollout, envIndices, type RolloutContext } from './rollout.js';
import { ppoUpdate, type UpdateContext } from './update.js';

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
 *
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
  private readonly checkpointEvery: number | null;

  constructor(options: PpoTrainerOptions, makeAgent?: (context: PpoAgentContext) => A) {
    const run = resolvePpoOptions(options);
    this.config = run.config;
    const space = run.actionSpace;
    const c = this.config;
    this.envs = new SyncVectorEnv(Array.from({ length: c.numEnvs }, () => () => this.makeTrainingEnv()));
    this.obsSize = this.envs.singleObservationSpace.size;
    this.head = space.kind === 'discrete' ? { kind: 'discrete', n: space.n } : { kind: 'box', size: space.size };
    const context = { observationSize: this.obsSize, action: this.head, hiddenSizes: c.hiddenSizes, seed: c.seed };
    this.policy = makeAgent ? makeAgent(context) : (new ActorCritic(context) as unknown as A);
    this.names = Object.keys(this.policy.variables);
    this.vars = this.names.map((n) => this.policy.variables[n]!);
    this.adam = new Adam(this.vars, { lr: c.learningRate, eps: c.adamEps });
    this.emit = eventEmitter(PPO_EVENT_TYPES, run.callbacks);
    this.checkpoint = new RunCheckpoint({
      dir: run.checkpointDir,
      kind: 'ppo',
      what: 'PPO training',
      progress: progressSchema,
      fingerprint: run.fingerprint,
      hint: 'use another output directory, or the options it was started with',
    });
    this.checkpointEvery = run.checkpointEvery;
  }

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

  private rolloutContext(): RolloutContext {
    const { config, policy, envs, head, obsSize, emit } = this;
    return { config, policy, envs, head, obsSize, emit };
  }

  private updateContext(): Omit<UpdateContext, 'lr'> {
    const { config, policy, head, obsSize, vars, adam } = this;
    return { config, policy, head, obsSize, vars, adam };
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
          const r = await collectRollout(this.rolloutContext(), rng, nextObs, nextDone, globalStep, p.episodes);
          nextObs = r.nextObs;
          nextDone = r.nextDone;
          globalStep = r.globalStep;
          const stats = await ppoUpdate({ ...this.updateContext(), lr: this.lrAt(it) }, rng, r, it, log);
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

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
