import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { ConfigError } from '@hypernets/core';
import type { Env } from '../envs/env.js';
import { argmaxRows } from '../ppo/distributions.js';
import type { PpoEvaluation, PpoTrainerOptions } from '../ppo/options.js';
import { PpoTrainer } from '../ppo/trainer.js';
import { HyperActorCritic, type LogStdMode } from './policy.js';
import { disposePadded, paddedForward } from './padded.js';
import { ArchitectureSpace, HYPERPPO_MAX_DEPTH, HYPERPPO_WIDTHS, type ArchitectureSampling } from './search-space.js';

/**
 * HyperPPO's PPO settings (hegde95/HyperPPO `sf_examples/mujoco_parallel/mujoco_params.py`, sample
 * factory's names in brackets): 128 envs [env_agents] × 64 steps [rollout], 4 minibatches
 * [num_batches_per_epoch] × 2 epochs [num_epochs], lr 0.00295 annealed linearly [lr_schedule],
 * gradient norm 3.5, value coefficient 1.3, no entropy bonus, clip 0.2, γ 0.99, λ 0.95,
 * observations and returns normalised, truncations bootstrapped [value_bootstrap], 8
 * architectures per iteration [meta_batch_size]. Not carried over: sample factory's KL penalty
 * (kl_loss_coeff 0.1) and its value clipping by an absolute range.
 */
export const HYPERPPO_DEFAULTS = {
  numEnvs: 128,
  numSteps: 64,
  numMinibatches: 4,
  updateEpochs: 2,
  learningRate: 0.00295,
  maxGradNorm: 3.5,
  vfCoef: 1.3,
  entCoef: 0,
  normalize: true,
  bootstrapTruncated: true,
  metaBatchSize: 8,
} as const;

export interface HyperPpoTrainerOptions extends PpoTrainerOptions {
  /** Architectures drawn per iteration; numEnvs must be a multiple. Default 8. */
  metaBatchSize?: number;
  /** Default `biased` (equal mass per depth). */
  sampling?: ArchitectureSampling;
  /** Default `single`. */
  stdMode?: LogStdMode;
  /** Hidden widths of the search space. Default 4, 8, …, 256. */
  widths?: readonly number[];
  /** Deepest policy. Default 4. */
  maxDepth?: number;
  /** The GHN's node embedding width. Default 16. */
  ghnHidden?: number;
}

/** What one architecture did with generated weights. */
export interface ArchitectureEvaluation {
  /** Index in the architecture space (its rank by size). */
  index: number;
  hidden: number[];
  /** Parameter count of the generated policy (weights and biases). */
  params: number;
  returns: number[];
  /** Episode lengths, episode by episode. */
  lengths: number[];
  meanReturn: number;
}

const hyperSchema = z
  .object({
    metaBatchSize: z.number().int().positive().optional(),
    sampling: z.enum(['biased', 'uniform']).optional(),
    stdMode: z.enum(['single', 'multi', 'conditioned']).optional(),
    widths: z.array(z.number().int().positive().max(4096)).min(1).max(16).optional(),
    maxDepth: z.number().int().min(1).max(8).optional(),
    ghnHidden: z.number().int().positive().max(1024).optional(),
  })
  .strict();

/**
 * HyperPPO (Hegde, Huang & Sukhatme, ICRA 2024): PPO whose actor is a graph hypernetwork over a
 * space of MLP policy architectures (1–4 hidden layers of widths 4…256: 2,800 of them). Each
 * iteration draws `metaBatchSize` architectures, splits the envs among them, and trains the GHN
 * (and the architecture-aware critic) on all of their rollouts at once, so that afterwards every
 * architecture of the space gets working weights from the GHN without training
 * (`evaluateArchitectures`). Same rollouts, update, checkpoints and resume as `PpoTrainer`.
 */
export class HyperPpoTrainer extends PpoTrainer<HyperActorCritic> {
  readonly space: ArchitectureSpace;

  constructor(options: HyperPpoTrainerOptions) {
    const { metaBatchSize, sampling, stdMode, widths, maxDepth, ghnHidden, ...ppo } = options;
    const parsed = hyperSchema.safeParse({ metaBatchSize, sampling, stdMode, widths, maxDepth, ghnHidden });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(issue.path.join('.') || 'HyperPpoTrainer', issue.message);
    }
    const h = {
      metaBatchSize: metaBatchSize ?? HYPERPPO_DEFAULTS.metaBatchSize,
      sampling: sampling ?? 'biased',
      stdMode: stdMode ?? 'single',
      widths: [...(widths ?? HYPERPPO_WIDTHS)],
      maxDepth: maxDepth ?? HYPERPPO_MAX_DEPTH,
      ghnHidden: ghnHidden ?? 16,
    };
    const { metaBatchSize: _m, ...ppoDefaults } = HYPERPPO_DEFAULTS;
    const merged = { ...ppoDefaults, ...dropUndefined(ppo) } as PpoTrainerOptions;
    let space: ArchitectureSpace | null = null;
    super({ ...merged, fingerprint: { hyperppo: h, run: options.fingerprint ?? null } }, (ctx) => {
      space = new ArchitectureSpace({
        observationSize: ctx.observationSize,
        actionSize: ctx.action.kind === 'discrete' ? ctx.action.n : ctx.action.size,
        widths: h.widths,
        maxDepth: h.maxDepth,
      });
      return new HyperActorCritic({
        observationSize: ctx.observationSize,
        action: ctx.action,
        space,
        metaBatchSize: h.metaBatchSize,
        sampling: h.sampling,
        stdMode: h.stdMode,
        criticHidden: ctx.hiddenSizes,
        ghnHidden: h.ghnHidden,
        seed: ctx.seed,
      });
    });
    this.space = space!;
    if (this.config.numEnvs % h.metaBatchSize !== 0)
      throw new ConfigError(
        'numEnvs',
        `must be a multiple of metaBatchSize (${h.metaBatchSize}) so every architecture gets the same envs, got ${this.config.numEnvs}`,
      );
    const count = (this.config.numSteps * this.config.numEnvs) / h.metaBatchSize;
    if (count % this.config.numMinibatches !== 0)
      throw new ConfigError(
        'numMinibatches',
        `must divide each architecture's ${count} samples per iteration (numSteps × numEnvs / metaBatchSize), got ${this.config.numMinibatches}`,
      );
  }

  /**
   * PpoTrainer's `evaluate` for one architecture with its generated weights (`architecture`: an
   * index of `space`; default the largest): `evaluateArchitectures([architecture])`.
   */
  override async evaluate(
    episodes: number,
    options: { seed?: number; maxSteps?: number; architecture?: number } = {},
  ): Promise<PpoEvaluation> {
    const { architecture = this.space.size - 1, ...rest } = options;
    const [e] = await this.evaluateArchitectures([architecture], { episodes, ...rest });
    return { returns: e!.returns, lengths: e!.lengths, meanReturn: e!.meanReturn };
  }

  /**
   * Runs each architecture `indices` (of `space`) with the weights the GHN generates for it, no
   * training: the deterministic policy (the Gaussian's mean, or the argmax) for `episodes` episodes
   * on envs seeded `seed`, `seed + 1`, … (the same for every architecture), observations normalised
   * with the training statistics, frozen. Up to `chunk` architectures act together in one batched
   * pass per step. Returns raw returns per architecture.
   */
  async evaluateArchitectures(
    indices: ArrayLike<number>,
    options: { episodes?: number; seed?: number; maxSteps?: number; chunk?: number } = {},
  ): Promise<ArchitectureEvaluation[]> {
    const episodes = options.episodes ?? 1;
    const seed = options.seed ?? this.config.seed + 10_000;
    const maxSteps = options.maxSteps ?? Infinity;
    const chunk = options.chunk ?? 64;
    for (const [name, v] of [
      ['episodes', episodes],
      ['chunk', chunk],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new ConfigError(name, `must be a positive integer, got ${v}`);
    const all = Array.from(indices);
    for (const i of all)
      if (!Number.isInteger(i) || i < 0 || i >= this.space.size)
        throw new ConfigError('indices', `holds ${i}, not an architecture index 0…${this.space.size - 1}`);
    const O = this.policy.observationSize;
    const head = this.policy.action;
    const out: ArchitectureEvaluation[] = [];
    for (let start = 0; start < all.length; start += chunk) {
      const ids = all.slice(start, start + chunk);
      const K = ids.length;
      const padded = this.policy.generatePadded(ids);
      const returns: number[][] = ids.map(() => []);
      const lengthsOf: number[][] = ids.map(() => []);
      // one env per architecture for all its episodes (a MuJoCo env holds ~13 MB of the wasm heap)
      const envs: Env[] = [];
      try {
        for (let k = 0; k < K; k++) envs.push(this.makeEvaluationEnv());
        for (let ep = 0; ep < episodes; ep++) {
          const obs = new Float32Array(K * O);
          envs.forEach((e, k) => obs.set(e.reset({ seed: seed + ep }).observation, k * O));
          const active = new Array<boolean>(K).fill(true);
          const totals = new Float64Array(K);
          const lengths = new Int32Array(K);
          while (active.some(Boolean)) {
            const x = tf.tensor3d(obs, [K, 1, O]);
            const y = paddedForward(x, padded);
            const h = await y.data();
            tf.dispose([x, y]);
            const A = h.length / K;
            for (let k = 0; k < K; k++) {
              if (!active[k]) continue;
              const row = h.subarray(k * A, (k + 1) * A);
              const action = head.kind === 'discrete' ? argmaxRows(row, 1, head.n)[0]! : Array.from(row);
              const r = envs[k]!.step(action as never);
              totals[k] += r.reward;
              lengths[k]++;
              obs.set(r.observation, k * O);
              if (r.terminated || r.truncated || lengths[k]! >= maxSteps) active[k] = false;
            }
          }
          for (let k = 0; k < K; k++) {
            returns[k]!.push(totals[k]!);
            lengthsOf[k]!.push(lengths[k]!);
          }
        }
      } finally {
        for (const e of envs) e.close();
        disposePadded(padded);
      }
      ids.forEach((index, k) =>
        out.push({
          index,
          hidden: [...this.space.architectures[index]!],
          params: this.space.parameterCounts[index]!,
          returns: returns[k]!,
          lengths: lengthsOf[k]!,
          meanReturn: returns[k]!.reduce((a, b) => a + b, 0) / returns[k]!.length,
        }),
      );
    }
    return out;
  }
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The Pareto front of (parameter count, return): the architectures no other beats on both — none
 * smaller with a return at least as high. Sorted by size.
 */
export function paretoFront(evals: readonly ArchitectureEvaluation[]): ArchitectureEvaluation[] {
  const sorted = [...evals].sort((a, b) => a.params - b.params || b.meanReturn - a.meanReturn);
  const front: ArchitectureEvaluation[] = [];
  let best = -Infinity;
  for (const e of sorted)
    if (e.meanReturn > best) {
      front.push(e);
      best = e.meanReturn;
    }
  return front;
}
