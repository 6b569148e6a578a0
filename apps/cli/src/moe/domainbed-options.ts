import { z } from 'zod';
import { intSchema as int, realSchema as real } from '../args.js';
import { BACKENDS, MAX_STEPS } from '../continual/options.js';

/**
 * `hypernets moe domainbed` options: validated here (zod), before any work; a bad value is a
 * UsageError (exit code 2) naming the flag and what it takes. The datasets' environment names are
 * copied here so that `--help` and usage errors answer without loading tfjs or MNIST
 * (domainbed.test.ts checks they equal @hypernets/data's).
 */

/** @hypernets/data's DOMAINBED_DATASETS. */
export const DG_DATASETS = ['rotated-mnist', 'colored-mnist'] as const;
export type DgDataset = (typeof DG_DATASETS)[number];
export const DG_ALGORITHMS = ['erm', 'hmoe'] as const;

/** Each dataset's environments in DomainBed's order (their `ENVIRONMENTS`; @hypernets/data's names). */
export const DG_ENVIRONMENTS: Record<DgDataset, readonly string[]> = {
  'rotated-mnist': ['0', '15', '30', '45', '60', '75'],
  'colored-mnist': ['+90%', '+80%', '-90%'],
};

/** MNIST's train and test images, dealt round-robin to the environments (the smallest gets ⌊70,000 / E⌋). */
const MNIST_IMAGES = 70_000;
/** The smallest environment of `dataset` (before --max-per-env). */
export const smallestEnvironment = (dataset: DgDataset): number =>
  Math.floor(MNIST_IMAGES / DG_ENVIRONMENTS[dataset].length);

/**
 * The seed of environment i's in/out split: seed · 1000 + i. DomainBed seeds it with
 * `seed_hash(trial_seed, env_i)`; ours is a documented deterministic stand-in (holdoutSplit's
 * permutation is our Rng's, not NumPy's anyway).
 */
export const holdoutSeed = (seed: number, env: number): number => seed * 1000 + env;
/** The largest --seed whose holdout seeds (seed · 1000 + i, i < 1000) still fit Rng's 32 bits. */
export const MAX_DG_SEED = Math.floor((2 ** 32 - 1 - 999) / 1000);

/**
 * The environment `value` names in `dataset`: a name ('15', '+90%') first, else an index
 * (0 … E−1); null for neither. The two never disagree on these datasets (RotatedMNIST's '0' is
 * both name and index of the same environment; its other names are not valid indices).
 */
export function environmentIndex(dataset: DgDataset, value: string): number | null {
  const names = DG_ENVIRONMENTS[dataset];
  const byName = names.indexOf(value);
  if (byName >= 0) return byName;
  if (!/^\d+$/.test(value)) return null;
  const i = Number(value);
  return i < names.length ? i : null;
}

/** The flags only HMOE takes (refused with --algorithm erm). */
const HMOE_KEYS = ['experts', 'embeddingDim', 'temperature'] as const;

export const dgSchema = z
  .object({
    dataset: z.enum(DG_DATASETS),
    algorithm: z.enum(DG_ALGORITHMS),
    /** The held-out environment: an index or a name (resolveDg). */
    testEnv: z.string(),
    steps: int(1, MAX_STEPS),
    /** Images per training environment per step. */
    batchSize: int(1, 4096),
    lr: real(0, 10, { above: true }),
    weightDecay: real(0, 10),
    /** Validate every n steps: default min(100, steps). */
    evalEvery: int(1, MAX_STEPS).optional(),
    /** Fraction of each environment held out (its `out` split). */
    holdout: real(0, 1, { above: true }),
    /** HMOE (given: --algorithm hmoe only). */
    experts: int(1, 1024).optional(),
    embeddingDim: int(1, 1024).optional(),
    temperature: real(0, 1e6, { above: true }).optional(),
    seed: int(0, MAX_DG_SEED),
    checkpointEvery: int(1, MAX_STEPS),
    /** Advanced (quick checks, tests): the first n images of each environment only. */
    maxPerEnv: int(2, MNIST_IMAGES).optional(),
    backend: z.enum(BACKENDS).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    const names = DG_ENVIRONMENTS[o.dataset];
    if (environmentIndex(o.dataset, o.testEnv) === null)
      issue(
        'testEnv',
        `'${o.testEnv}' is not an environment of ${o.dataset}: give an index 0 … ${names.length - 1} or a name ` +
          `(${names.join(', ')})`,
      );
    if (o.algorithm !== 'hmoe')
      for (const key of HMOE_KEYS)
        if (o[key] !== undefined)
          issue(key, `shapes HMOE's mixture only (--algorithm hmoe), not --algorithm ${o.algorithm}: leave it out`);
    if (o.evalEvery !== undefined && o.evalEvery > o.steps) issue('evalEvery', `must be at most --steps (${o.steps})`);
    if (o.holdout >= 1) issue('holdout', 'must be less than 1: the training environments train on the rest');
    else {
      // both splits of the smallest environment must hold an image (DgTrainer samples and validates on them)
      const n = Math.min(smallestEnvironment(o.dataset), o.maxPerEnv ?? Infinity);
      const out = Math.floor(n * o.holdout);
      if (out < 1 || n - out < 1)
        issue(
          o.maxPerEnv !== undefined && o.maxPerEnv < smallestEnvironment(o.dataset) ? 'maxPerEnv' : 'holdout',
          `--holdout ${o.holdout} of ${n} images per environment leaves ${out < 1 ? 'no validation (out)' : 'no training (in)'} ` +
            'images; both splits need at least one',
        );
    }
  });
export type MoeDgOptions = z.infer<typeof dgSchema>;

export const DG_DEFAULTS = {
  steps: 600,
  batchSize: 32,
  lr: 1e-3,
  weightDecay: 0,
  holdout: 0.2,
  seed: 0,
  checkpointEvery: 100,
} satisfies Partial<MoeDgOptions>;

/** HMOE's flags by default. */
export const HMOE_DEFAULTS = { experts: 3, embeddingDim: 4, temperature: 1 } as const;
/** HMOE's other settings (createHmoe's defaults, passed explicitly, recorded in results.json and the fingerprint). */
export const HMOE_FIXED = { hyperHidden: 64, expertHidden: 64, sampleEntropy: 0.1, balance: 0.1 } as const;
/** DomainBed's validation interval (its checkpoint_freq for MNIST). */
export const DEFAULT_EVAL_EVERY = 100;

/** The options with every default filled in and --test-env resolved, as the run, results.json and the fingerprint see them. */
export interface ResolvedDgOptions extends Omit<
  MoeDgOptions,
  'testEnv' | 'evalEvery' | 'experts' | 'embeddingDim' | 'temperature' | 'maxPerEnv'
> {
  /** The held-out environment's index. */
  testEnv: number;
  /** Its name ('15', '+90%'). */
  testEnvName: string;
  evalEvery: number;
  /** null for ERM. */
  experts: number | null;
  embeddingDim: number | null;
  temperature: number | null;
  /** null: whole environments. */
  maxPerEnv: number | null;
}

export function resolveDg(o: MoeDgOptions): ResolvedDgOptions {
  const hmoe = o.algorithm === 'hmoe';
  const testEnv = environmentIndex(o.dataset, o.testEnv)!; // checked by the schema
  return {
    ...o,
    testEnv,
    testEnvName: DG_ENVIRONMENTS[o.dataset][testEnv]!,
    evalEvery: o.evalEvery ?? Math.min(DEFAULT_EVAL_EVERY, o.steps),
    experts: hmoe ? (o.experts ?? HMOE_DEFAULTS.experts) : null,
    embeddingDim: hmoe ? (o.embeddingDim ?? HMOE_DEFAULTS.embeddingDim) : null,
    temperature: hmoe ? (o.temperature ?? HMOE_DEFAULTS.temperature) : null,
    maxPerEnv: o.maxPerEnv ?? null,
  };
}

/**
 * What must match for --resume: everything that changes the training or the data (not the
 * backend nor the checkpoint spacing; --test-env by index, so '15' and '1' are the same run).
 */
export function dgFingerprint(o: ResolvedDgOptions): unknown {
  const { backend: _b, checkpointEvery: _c, testEnvName: _n, ...rest } = o;
  return { command: 'moe domainbed', ...rest, ...(o.algorithm === 'hmoe' ? { hmoe: HMOE_FIXED } : {}) };
}
