import { z } from 'zod';
import { intSchema as int, realSchema as real } from '../args.js';
import { BACKENDS, MAX_SEED } from '../continual/options.js';
import { UsageError } from '../continual/options.js';

/**
 * `hypernets rl` options, validated here (zod) before any work: a bad value is a UsageError (exit
 * code 2) naming the flag. The env ids, the MuJoCo set and PPO's presets are copied from
 * @hypernets/rl so that `--help` and usage errors answer without loading tfjs (rl.test.ts checks
 * they equal the library's).
 */

/** @hypernets/rl's makeEnv ids, their short names, and the action space's kind (which picks PPO's preset). */
export const ENVS = [
  { id: 'CartPole-v1', short: 'cartpole', actions: 'discrete', mujoco: false },
  { id: 'MountainCar-v0', short: 'mountaincar', actions: 'discrete', mujoco: false },
  { id: 'MountainCarContinuous-v0', short: 'mountaincar-continuous', actions: 'box', mujoco: false },
  { id: 'Pendulum-v1', short: 'pendulum', actions: 'box', mujoco: false },
  { id: 'Acrobot-v1', short: 'acrobot', actions: 'discrete', mujoco: false },
  { id: 'HalfCheetah-v5', short: 'halfcheetah', actions: 'box', mujoco: true },
  { id: 'Hopper-v5', short: 'hopper', actions: 'box', mujoco: true },
  { id: 'Walker2d-v5', short: 'walker2d', actions: 'box', mujoco: true },
  { id: 'Ant-v5', short: 'ant', actions: 'box', mujoco: true },
] as const;
export type EnvEntry = (typeof ENVS)[number];
export type EnvId = EnvEntry['id'];

/** "cartpole (CartPole-v1), …": what --env takes. */
export const ENV_LIST = ENVS.map((e) => `${e.short} (${e.id})`).join(', ');

/** The env an --env value names: a makeEnv id or a short name, any case; undefined if none. */
export function findEnv(name: string): EnvEntry | undefined {
  const n = name.trim().toLowerCase();
  return ENVS.find((e) => e.id.toLowerCase() === n || e.short === n);
}

export function envEntry(id: string): EnvEntry {
  const e = findEnv(id);
  if (!e) throw new UsageError(`--env: unknown environment '${id}'; known: ${ENV_LIST}`);
  return e;
}

/**
 * The algorithms `rl train` runs: one row each (the name --algo takes, what it is). run.ts holds
 * each PPO-trained one's trainer in a table of the same keys (`ALGO_RUNS`), so adding one is a row
 * here and an entry there; HyperZero (teachers, then a model) runs in hyperzero-run.ts.
 */
export const ALGOS = {
  ppo: "PPO-clip as CleanRL's ppo.py / ppo_continuous_action.py, their defaults for the env's action space",
  hyperppo:
    'HyperPPO: a graph hypernetwork gives the weights of 2,800 MLP policy architectures (1-4 hidden layers of ' +
    "4-256), --meta-batch of them trained per iteration with the reference's PPO settings; afterwards --eval-archs " +
    'of them (a stratified sample) run with generated weights: the best one is the mean_return, all are in "archs"',
  hyperzero:
    'HyperZero (pendulum: pole length and mass on a --grid × --grid grid, 20% held out): a TD3 teacher per context ' +
    '(--steps from scratch, --warm-steps from its neighbour), then --model trained on their rollouts for --epochs; ' +
    'the mean_return is its zero-shot return on the held-out contexts',
} as const;
export type Algo = keyof typeof ALGOS;
export const ALGO_NAMES = Object.keys(ALGOS) as Algo[];
/** The algorithms trained by PPO's trainer (HyperZero has its own options: hyperzeroTrainSchema). */
export const PPO_ALGOS = ['ppo', 'hyperppo'] as const;
export type PpoAlgo = (typeof PPO_ALGOS)[number];

/** @hypernets/rl's PPO_PRESETS (CleanRL's defaults per action space), the values the flags override. */
export const PPO_DEFAULTS = {
  discrete: { numEnvs: 4, numSteps: 128, lr: 2.5e-4, minibatches: 4, epochs: 4, entCoef: 0.01 },
  box: { numEnvs: 1, numSteps: 2048, lr: 3e-4, minibatches: 32, epochs: 10, entCoef: 0 },
} as const;
/** @hypernets/rl's HYPERPPO_DEFAULTS (hegde95/HyperPPO's MuJoCo settings), whatever the action space. */
export const HYPERPPO_DEFAULTS = {
  numEnvs: 128,
  numSteps: 64,
  lr: 0.00295,
  minibatches: 4,
  epochs: 2,
  entCoef: 0,
  metaBatch: 8,
  stdMode: 'single',
  evalArchs: 300,
  evalEpisodes: 2,
  /** A checkpoint ends the envs' episodes: 50 iterations of 64 steps outlast a 1,000-step episode. */
  checkpointEvery: 50,
} as const;
export const STD_MODES = ['single', 'multi', 'conditioned'] as const;

/** @hypernets/rl's ZERO_SHOT_MODELS (names only; rl.test.ts checks they equal the library's). */
export const HYPERZERO_MODELS = ['hyperzero', 'hyperzero_without_q', 'mlp_rl_td', 'mlp_policy'] as const;
/** The envs with a HyperZero context family in @hypernets/rl. */
export const HYPERZERO_ENVS = ['Pendulum-v1'] as const;
/**
 * HyperZero's defaults: ZeroShotExperiment's (teachers, grid, discount) and the budget measured in
 * packages/rl/README.md (40 epochs at 3e-4; the reference: 500 at 1e-4).
 */
export const HYPERZERO_DEFAULTS = {
  steps: 20_000,
  warmSteps: 6_000,
  grid: 5,
  model: 'hyperzero',
  epochs: 40,
  lr: 3e-4,
  gamma: 0.98,
  datasetEpisodes: 50,
  evalEpisodes: 10,
  checkpointEvery: 10,
} as const;
/** `rl train` flags that only HyperZero takes, and those it does not. */
export const HYPERZERO_ONLY = ['model', 'grid', 'warmSteps', 'datasetEpisodes'] as const;
export const NOT_HYPERZERO = [
  'numEnvs',
  'numSteps',
  'minibatches',
  'entCoef',
  'gaeLambda',
  'clipCoef',
  'hidden',
  'metaBatch',
  'stdMode',
  'evalArchs',
] as const;
/** CleanRL's total_timesteps: ppo.py 500,000, ppo_continuous_action.py 1,000,000. */
export const DEFAULT_STEPS = { discrete: 500_000, box: 1_000_000 } as const;
export const COMMON_DEFAULTS = {
  algo: 'ppo',
  seed: 0,
  gamma: 0.99,
  gaeLambda: 0.95,
  clipCoef: 0.2,
  hidden: [64, 64],
  checkpointEvery: 10,
  evalEpisodes: 10,
} as const;

/** Env steps of one run, at most. */
export const MAX_RL_STEPS = 1_000_000_000;
export const MAX_EPISODES = 10_000;

const envSchema = z.string().transform((v, ctx): string => {
  const e = findEnv(v);
  if (!e) {
    ctx.addIssue({ code: 'custom', message: `unknown environment '${v}'; known: ${ENV_LIST}` });
    return z.NEVER;
  }
  return e.id;
});

export const trainSchema = z
  .object({
    env: envSchema,
    algo: z.enum(PPO_ALGOS),
    /** Default: CleanRL's for the action space (DEFAULT_STEPS). */
    steps: int(1, MAX_RL_STEPS).optional(),
    seed: int(0, MAX_SEED),
    numEnvs: int(1, 1024).optional(),
    numSteps: int(1, 100_000).optional(),
    lr: real(0, 10, { above: true }).optional(),
    minibatches: int(1, 1_000_000).optional(),
    epochs: int(1, 1000).optional(),
    entCoef: real(0, 100).optional(),
    gamma: real(0, 1),
    gaeLambda: real(0, 1),
    clipCoef: real(0, 10, { above: true }),
    hidden: z.array(int(1, 4096)).min(1, 'needs at least one width').max(16, 'takes at most 16 widths'),
    /** Default 10 (PPO), 50 (HyperPPO). */
    checkpointEvery: int(1, 1_000_000).optional(),
    /** Default 10 (PPO), 2 per architecture (HyperPPO). */
    evalEpisodes: int(1, MAX_EPISODES).optional(),
    /** HyperPPO only. */
    metaBatch: int(1, 2800).optional(),
    stdMode: z.enum(STD_MODES).optional(),
    evalArchs: int(1, 2800).optional(),
    backend: z.enum(BACKENDS).optional(),
  })
  .strict();
export type RlTrainOptions = z.infer<typeof trainSchema>;

/** The options with every default filled in: what the run, summary.json and the fingerprint see. */
export interface ResolvedTrainOptions {
  env: EnvId;
  algo: PpoAlgo;
  steps: number;
  seed: number;
  numEnvs: number;
  numSteps: number;
  lr: number;
  minibatches: number;
  epochs: number;
  entCoef: number;
  gamma: number;
  gaeLambda: number;
  clipCoef: number;
  hidden: number[];
  checkpointEvery: number;
  evalEpisodes: number;
  /** HyperPPO: architectures per iteration, the log-std mode, architectures evaluated at the end. */
  metaBatch?: number;
  stdMode?: (typeof STD_MODES)[number];
  evalArchs?: number;
  backend?: (typeof BACKENDS)[number];
}

/**
 * Fills the defaults of the env's action space (CleanRL's) and checks what only the whole set
 * can tell: the minibatches divide the batch (--num-envs × --num-steps) into minibatches of ≥ 2
 * samples, and --steps is at least one batch.
 */
export function resolveTrain(o: RlTrainOptions): ResolvedTrainOptions {
  const kind = envEntry(o.env).actions;
  const hyper = o.algo === 'hyperppo';
  const d = hyper ? HYPERPPO_DEFAULTS : PPO_DEFAULTS[kind];
  if (!hyper)
    for (const [flag, v] of [
      ['--meta-batch', o.metaBatch],
      ['--std-mode', o.stdMode],
      ['--eval-archs', o.evalArchs],
    ] as const)
      if (v !== undefined) throw new UsageError(`${flag} is a HyperPPO option: pass --algo hyperppo, or leave it out`);
  const r: ResolvedTrainOptions = {
    env: o.env as EnvId,
    algo: o.algo,
    steps: o.steps ?? DEFAULT_STEPS[kind],
    seed: o.seed,
    numEnvs: o.numEnvs ?? d.numEnvs,
    numSteps: o.numSteps ?? d.numSteps,
    lr: o.lr ?? d.lr,
    minibatches: o.minibatches ?? d.minibatches,
    epochs: o.epochs ?? d.epochs,
    entCoef: o.entCoef ?? d.entCoef,
    gamma: o.gamma,
    gaeLambda: o.gaeLambda,
    clipCoef: o.clipCoef,
    hidden: [...o.hidden],
    checkpointEvery: o.checkpointEvery ?? (hyper ? HYPERPPO_DEFAULTS.checkpointEvery : COMMON_DEFAULTS.checkpointEvery),
    evalEpisodes: o.evalEpisodes ?? (hyper ? HYPERPPO_DEFAULTS.evalEpisodes : COMMON_DEFAULTS.evalEpisodes),
    ...(hyper
      ? {
          metaBatch: o.metaBatch ?? HYPERPPO_DEFAULTS.metaBatch,
          stdMode: o.stdMode ?? HYPERPPO_DEFAULTS.stdMode,
          evalArchs: o.evalArchs ?? HYPERPPO_DEFAULTS.evalArchs,
        }
      : {}),
    ...(o.backend === undefined ? {} : { backend: o.backend }),
  };
  const batch = r.numEnvs * r.numSteps;
  const shape = `--num-envs ${r.numEnvs} × --num-steps ${r.numSteps} = ${batch}`;
  if (r.steps < batch)
    throw new UsageError(`--steps: ${r.steps} is less than one batch (${shape}); pass at least ${batch}`);
  if (batch % r.minibatches !== 0)
    throw new UsageError(`--minibatches: ${r.minibatches} does not divide the batch (${shape})`);
  if (r.metaBatch !== undefined) {
    if (r.numEnvs % r.metaBatch !== 0)
      throw new UsageError(
        `--meta-batch: ${r.metaBatch} architectures cannot share --num-envs ${r.numEnvs} evenly; pass a divisor`,
      );
    const per = (r.numSteps * r.numEnvs) / r.metaBatch;
    if (per % r.minibatches !== 0)
      throw new UsageError(
        `--minibatches: ${r.minibatches} does not divide each architecture's ${per} samples per iteration ` +
          '(--num-steps × --num-envs / --meta-batch)',
      );
  }
  if (batch / r.minibatches < 2)
    throw new UsageError(
      `--minibatches: ${r.minibatches} leaves ${batch / r.minibatches} sample per minibatch of the batch (${shape}); ` +
        'advantages are normalised per minibatch: at least 2 each',
    );
  return r;
}

/** Iterations a run does: ⌊steps / batch⌋ (the env steps it trains are iterations × batch). */
export const iterationsOf = (o: ResolvedTrainOptions) => Math.floor(o.steps / (o.numEnvs * o.numSteps));

/**
 * What must match for --resume, and what `rl eval` and `rl render --from` rebuild the trainer
 * from (it is the checkpoint's `config`): everything that shapes training; not the backend, the
 * checkpoint spacing or the evaluation (a finished run resumed with another --eval-episodes is
 * evaluated again without training).
 */
export function trainFingerprint(o: ResolvedTrainOptions) {
  const { backend: _b, checkpointEvery: _c, evalEpisodes: _e, evalArchs: _a, ...rest } = o;
  return { command: 'rl train' as const, ...rest };
}
export type TrainFingerprint = ReturnType<typeof trainFingerprint>;

/** A checkpoint's `config` read back (rl eval / render): a fingerprint as trainFingerprint writes it. */
export const fingerprintSchema = z
  .object({
    command: z.literal('rl train'),
    env: z.enum(ENVS.map((e) => e.id) as [EnvId, ...EnvId[]]),
    algo: z.enum(PPO_ALGOS),
    steps: int(1, MAX_RL_STEPS),
    seed: int(0, MAX_SEED),
    numEnvs: int(1, 1024),
    numSteps: int(1, 100_000),
    lr: real(0, 10, { above: true }),
    minibatches: int(1, 1_000_000),
    epochs: int(1, 1000),
    entCoef: real(0, 100),
    gamma: real(0, 1),
    gaeLambda: real(0, 1),
    clipCoef: real(0, 10, { above: true }),
    hidden: z.array(int(1, 4096)).min(1).max(16),
    metaBatch: int(1, 2800).optional(),
    stdMode: z.enum(STD_MODES).optional(),
  })
  .strict();

export const evalSchema = z
  .object({
    out: z.string(),
    episodes: int(1, MAX_EPISODES),
    /** The first episode's reset seed (default: the training seed + 10,000, as train's evaluation). */
    seed: int(0, MAX_SEED).optional(),
    backend: z.enum(BACKENDS).optional(),
  })
  .strict();
export type RlEvalOptions = z.infer<typeof evalSchema>;

/** Frames a rendering holds, at most (an SVG of 10,000 CartPole frames is about 3 MB). */
export const MAX_RENDER_STEPS = 10_000;

export const renderSchema = z
  .object({
    /** Needed without --from; with it, must name the run's env if given. */
    env: envSchema.optional(),
    from: z.string().optional(),
    file: z.string(),
    steps: int(1, MAX_RENDER_STEPS),
    seed: int(0, MAX_SEED),
    /** Default: Gymnasium's render_fps of the env. */
    fps: real(0, 1000, { above: true }).optional(),
    width: int(16, 4096),
    backend: z.enum(BACKENDS).optional(),
  })
  .strict();
export type RlRenderOptions = z.infer<typeof renderSchema>;
export const RENDER_DEFAULTS = { steps: 1000, seed: 0, width: 600 } as const;

/** The `--json` line of `rl train`, in this order. */
export const TRAIN_JSON_KEYS = [
  'env',
  'algo',
  'steps',
  'mean_return',
  'eval_episodes',
  'seconds',
  'steps_per_second',
  'backend',
] as const;

/** `rl train --algo hyperzero`'s options (the flags HyperZero takes; the others are refused by name). */
export const hyperzeroTrainSchema = z
  .object({
    env: envSchema,
    algo: z.literal('hyperzero'),
    /** TD3 steps of a teacher trained from scratch. */
    steps: int(1, MAX_RL_STEPS),
    /** TD3 steps of a teacher warm-started from its neighbour (0: all from scratch). */
    warmSteps: int(0, MAX_RL_STEPS),
    seed: int(0, MAX_SEED),
    grid: int(3, 20),
    model: z.enum(HYPERZERO_MODELS),
    epochs: int(1, 100_000),
    lr: real(0, 10, { above: true }),
    gamma: real(0, 1),
    datasetEpisodes: int(1, 1000),
    evalEpisodes: int(1, MAX_EPISODES),
    checkpointEvery: int(1, 1_000_000),
    backend: z.enum(BACKENDS).optional(),
  })
  .strict();
export type ResolvedHyperZeroOptions = z.infer<typeof hyperzeroTrainSchema>;

/**
 * Validates HyperZero's flags (`given`: those typed on the command line): a flag of PPO/HyperPPO is
 * a UsageError naming it, so is an env without a HyperZero context family.
 */
export function resolveHyperZero(given: Record<string, unknown>): ResolvedHyperZeroOptions {
  for (const k of NOT_HYPERZERO)
    if (given[k] !== undefined)
      throw new UsageError(
        `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is not a HyperZero option; HyperZero takes --steps, ` +
          '--warm-steps, --grid, --model, --epochs, --lr, --gamma, --dataset-episodes, --eval-episodes, --checkpoint-every',
      );
  if (given.model !== undefined && !(HYPERZERO_MODELS as readonly unknown[]).includes(given.model))
    throw new UsageError(`--model: '${String(given.model)}' is not one of ${HYPERZERO_MODELS.join(', ')}`);
  const env = findEnv(String(given.env ?? ''));
  if (env && !(HYPERZERO_ENVS as readonly string[]).includes(env.id))
    throw new UsageError(
      `--env: HyperZero needs a family of contexts; @hypernets/rl has one for pendulum (pole length and mass), not ${env.id}`,
    );
  const { algo: _a, seed, ...rest } = given;
  return hyperzeroParse({ ...HYPERZERO_DEFAULTS, seed: seed ?? COMMON_DEFAULTS.seed, ...rest, algo: 'hyperzero' });
}

function hyperzeroParse(values: Record<string, unknown>): ResolvedHyperZeroOptions {
  const r = hyperzeroTrainSchema.safeParse(values);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  throw new UsageError(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue.message}`);
}

/** What must match for --resume (and what `rl eval`/`render` read back): not the backend, checkpoints or evaluation. */
export function hyperzeroFingerprint(o: ResolvedHyperZeroOptions) {
  const { backend: _b, checkpointEvery: _c, evalEpisodes: _e, ...rest } = o;
  return { command: 'rl train' as const, ...rest };
}
export type HyperZeroFingerprint = ReturnType<typeof hyperzeroFingerprint>;
/** A HyperZero run's fingerprint read back (keys in hyperzeroFingerprint's order: the checkpoint compares them as JSON). */
export const hyperzeroFingerprintSchema = z
  .object({ command: z.literal('rl train') })
  .merge(hyperzeroTrainSchema.omit({ backend: true, checkpointEvery: true, evalEpisodes: true }))
  .strict();
