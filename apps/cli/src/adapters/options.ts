import { z } from 'zod';
import { intSchema as int, realSchema as real } from '../args.js';
import { BACKENDS, MAX_SEED, MAX_STEPS } from '../continual/options.js';

/**
 * `hypernets adapters train | predict` options: validated here (zod), before any work; a bad
 * value is a UsageError (exit code 2) naming the flag and what it takes. The names of the
 * methods and tasks are copied here so that `--help` and usage errors answer without loading
 * tfjs (adapters.test.ts checks they equal @hypernets/adapters' METHOD_NAMES and
 * @hypernets/data's TEXT_TASKS).
 */

/** @hypernets/adapters' METHOD_NAMES. */
export const METHODS = ['linear', 'finetune', 'adapters', 'hyperformer', 'hyperformer++', 'hyperx'] as const;
/** @hypernets/data's TEXT_TASKS. */
export const TASKS = [
  'spam',
  'sotu-party',
  'brown-genre',
  'brown-coarse',
  'reuters-grain',
  'reuters-corn',
  'wordnet-gloss',
] as const;
/** The Universal Sentence Encoder lite's positions: the longest token sequence it takes. */
export const MAX_TOKENS = 128;
/** The encoder's width (512): the adapter bottleneck is width / --reduction-factor, at least 1. */
const MAX_REDUCTION = 512;
const MAX_DOMAINS = 1000;

export const trainSchema = z
  .object({
    method: z.enum(METHODS),
    tasks: z
      .array(z.enum(TASKS))
      .min(1, 'needs at least one task')
      .refine((t) => new Set(t).size === t.length, 'names a task twice'),
    /** At least 2: the learning-rate warm-up (6% of the steps, at least one) must end before the last step. */
    steps: int(2, MAX_STEPS),
    batchSize: int(1, 4096),
    lr: real(0, 10, { above: true }),
    evalEvery: int(1, MAX_STEPS).optional(),
    maxExamples: int(10, 10_000_000),
    maxTokens: int(1, MAX_TOKENS),
    reductionFactor: int(1, MAX_REDUCTION),
    projectedDim: int(1, 4096),
    rescale: z.boolean(),
    domains: z
      .array(int(0, MAX_DOMAINS - 1))
      .min(1)
      .optional(),
    seed: int(0, MAX_SEED),
    checkpointEvery: int(1, MAX_STEPS),
    backend: z.enum(BACKENDS).optional(),
    weka: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.evalEvery !== undefined && o.evalEvery > o.steps)
      ctx.addIssue({ code: 'custom', path: ['evalEvery'], message: `must be at most --steps (${o.steps})` });
    if (o.domains !== undefined && o.domains.length !== o.tasks.length)
      ctx.addIssue({
        code: 'custom',
        path: ['domains'],
        message: `gives ${o.domains.length} domain id(s) for ${o.tasks.length} task(s) (${o.tasks.join(',')}); give one per task, in the order of --tasks`,
      });
    if (o.domains !== undefined && o.method !== 'hyperx')
      ctx.addIssue({
        code: 'custom',
        path: ['domains'],
        message: `conditions Hyper-X's adapters only (--method hyperx), not --method ${o.method}`,
      });
  });
export type AdaptersTrainOptions = z.infer<typeof trainSchema>;

export const TRAIN_DEFAULTS = {
  tasks: ['spam', 'sotu-party', 'brown-coarse', 'reuters-grain', 'wordnet-gloss'],
  steps: 600,
  batchSize: 32,
  lr: 3e-4,
  maxExamples: 4000,
  maxTokens: 64,
  reductionFactor: 32,
  projectedDim: 64,
  rescale: false,
  seed: 0,
  checkpointEvery: 100,
} satisfies Partial<AdaptersTrainOptions>;

/** Validation every n steps: --eval-every, else a tenth of the run (the trainer's default). */
export const evalEveryOf = (o: Pick<AdaptersTrainOptions, 'steps' | 'evalEvery'>): number =>
  o.evalEvery ?? Math.max(1, Math.ceil(o.steps / 10));

/** What must match for --resume: everything that changes the numbers (not the backend, checkpoint spacing or data folder). */
export function trainFingerprint(o: AdaptersTrainOptions): unknown {
  return {
    method: o.method,
    tasks: o.tasks,
    steps: o.steps,
    batchSize: o.batchSize,
    lr: o.lr,
    evalEvery: evalEveryOf(o),
    maxExamples: o.maxExamples,
    maxTokens: o.maxTokens,
    reductionFactor: o.reductionFactor,
    projectedDim: o.projectedDim,
    rescale: o.rescale,
    domains: o.domains ?? null,
    seed: o.seed,
  };
}

export const predictSchema = z
  .object({
    checkpoint: z.string().min(1),
    task: z.string().min(1),
    text: z.string(),
    pair: z.string().optional(),
    backend: z.enum(BACKENDS).optional(),
  })
  .strict();
export type AdaptersPredictOptions = z.infer<typeof predictSchema>;
