import { z } from 'zod';
import { intSchema as int, realSchema as real } from '../args.js';
import { BACKENDS, MAX_SEED, MAX_STEPS } from '../continual/options.js';

/**
 * `hypernets adapters train | predict | fewshot` options: validated here (zod), before any work; a bad
 * value is a UsageError (exit code 2) naming the flag and what it takes. The names of the
 * methods and tasks are copied here so that `--help` and usage errors answer without loading
 * tfjs (adapters.test.ts checks they equal @hypernets/adapters' METHOD_NAMES and
 * @hypernets/data's TEXT_TASKS).
 */

/** @hypernets/adapters' METHOD_NAMES. */
export const METHODS = ['linear', 'finetune', 'adapters', 'hyperformer', 'hyperformer++', 'hyperx', 'pha'] as const;
/** @hypernets/data's TEXT_TASKS. */
export const TASKS = [
  'spam',
  'sotu-party',
  'brown-genre',
  'brown-coarse',
  'reuters-grain',
  'reuters-corn',
  'wordnet-gloss',
  'spam-continuation',
  'sotu-continuation',
  'brown-continuation',
  'reuters-continuation',
] as const;
export type TaskName = (typeof TASKS)[number];

/**
 * @hypernets/data's TEXT_TASK_DOMAINS with each task's family (the continuation tasks are one
 * family in four corpora): Hyper-X's two factors, copied so usage errors need no tfjs.
 */
export const TASK_FACTORS: Readonly<Record<TaskName, { family: string; domain: string }>> = {
  spam: { family: 'spam', domain: 'spamassassin' },
  'sotu-party': { family: 'sotu-party', domain: 'sotu' },
  'brown-genre': { family: 'brown-genre', domain: 'brown' },
  'brown-coarse': { family: 'brown-coarse', domain: 'brown' },
  'reuters-grain': { family: 'reuters-grain', domain: 'reuters' },
  'reuters-corn': { family: 'reuters-corn', domain: 'reuters' },
  'wordnet-gloss': { family: 'wordnet-gloss', domain: 'wordnet' },
  'spam-continuation': { family: 'continuation', domain: 'spamassassin' },
  'sotu-continuation': { family: 'continuation', domain: 'sotu' },
  'brown-continuation': { family: 'continuation', domain: 'brown' },
  'reuters-continuation': { family: 'continuation', domain: 'reuters' },
};

/**
 * Hyper-X's domain id of each task: --domains, else the tasks' corpora numbered in order of
 * first appearance (spam 0, sotu-party 1, sotu-continuation 1, …).
 */
export function domainIdsOf(o: Pick<AdaptersTrainOptions, 'tasks' | 'domains'>): number[] {
  if (o.domains) return [...o.domains];
  const corpora: string[] = [];
  return o.tasks.map((t) => {
    const d = TASK_FACTORS[t].domain;
    const i = corpora.indexOf(d);
    return i >= 0 ? i : corpora.push(d) - 1;
  });
}

/** The domain id of --zero-shot's task: that of the first training task of its corpus. */
export function zeroShotDomainOf(o: Pick<AdaptersTrainOptions, 'tasks' | 'domains' | 'zeroShot'>): number {
  const ids = domainIdsOf(o);
  const i = o.tasks.findIndex((t) => TASK_FACTORS[t].domain === TASK_FACTORS[o.zeroShot!].domain);
  return ids[i]!;
}

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
    zeroShot: z.enum(TASKS).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.zeroShot !== undefined) {
      const z0 = TASK_FACTORS[o.zeroShot];
      const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['zeroShot'], message });
      if (o.tasks.includes(o.zeroShot))
        issue(`${o.zeroShot} is one of --tasks; a zero-shot task is held out of training`);
      else if (!o.tasks.some((t) => TASK_FACTORS[t].family === z0.family))
        issue(
          `no training task is of ${o.zeroShot}'s family (${z0.family}): its head would be untrained; ` +
            `add one to --tasks (e.g. another corpus's ${z0.family === 'continuation' ? 'continuation task' : 'task'})`,
        );
      else if (!o.tasks.some((t) => TASK_FACTORS[t].domain === z0.domain))
        issue(
          `no training task is from ${o.zeroShot}'s corpus (${z0.domain}): its domain embedding would be untrained; ` +
            'add a task of that corpus to --tasks',
        );
    }
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
    domains: o.method === 'hyperx' ? domainIdsOf(o) : null,
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

// ---------------------------------------------------------------------------------------
// fewshot

/** Draws per number of shots, at most. */
export const MAX_DRAWS = 1000;
/** The shots of draw d are sampled with seed·1000 + d: the largest --seed whose sampling seeds stay 32-bit. */
export const MAX_FEWSHOT_SEED = Math.floor((MAX_SEED - (MAX_DRAWS - 1)) / 1000);

const distinct = (xs: readonly unknown[]) => new Set(xs).size === xs.length;

export const fewshotSchema = z
  .object({
    source: z.string().min(1),
    task: z.enum(TASKS),
    /** Each at least 2 (a class each of a binary task); at least the task's classes is checked once it is loaded. */
    shots: z
      .array(int(2, 1_000_000))
      .min(1, 'needs at least one number of shots')
      .refine(distinct, 'names a number of shots twice')
      .transform((s) => [...s].sort((a, b) => a - b)),
    draws: int(1, MAX_DRAWS),
    methods: z.array(z.enum(METHODS)).min(1, 'needs at least one method').refine(distinct, 'names a method twice'),
    /** At least 2, as `adapters train`'s: the warm-up must end before the last step. */
    steps: int(2, MAX_STEPS),
    lr: real(0, 10, { above: true }),
    batchSize: int(1, 4096),
    seed: int(0, MAX_FEWSHOT_SEED),
    maxExamples: int(10, 10_000_000),
    backend: z.enum(BACKENDS).optional(),
    weka: z.string().min(1).optional(),
  })
  .strict();
export type AdaptersFewshotOptions = z.infer<typeof fewshotSchema>;

export const FEWSHOT_DEFAULTS = {
  shots: [16, 32, 64],
  draws: 3,
  methods: ['pha', 'adapters'],
  steps: 100,
  lr: 1e-3,
  batchSize: 32,
  seed: 0,
  maxExamples: 4000,
} satisfies Partial<AdaptersFewshotOptions>;

/**
 * What must match for `fewshot --resume` (results.json's `config`): everything that changes the
 * numbers (`source` is the resolved --source folder; not the backend or the data folder).
 */
export function fewshotFingerprint(o: AdaptersFewshotOptions): FewshotConfig {
  return {
    source: o.source,
    task: o.task,
    shots: o.shots,
    draws: o.draws,
    methods: o.methods,
    steps: o.steps,
    lr: o.lr,
    batchSize: o.batchSize,
    seed: o.seed,
    maxExamples: o.maxExamples,
  };
}
export type FewshotConfig = Pick<
  AdaptersFewshotOptions,
  'source' | 'task' | 'shots' | 'draws' | 'methods' | 'steps' | 'lr' | 'batchSize' | 'seed' | 'maxExamples'
>;
