import { z } from 'zod';
import { BACKENDS, UsageError } from '../continual/options.js';
import { ZOO_MODELS } from './zoo.js';

/**
 * `hypernets ghn train | predict | eval` options: validated here (zod), before any work; a bad
 * value is a UsageError (exit code 2) naming the flag and what it takes.
 */

export const FAMILIES = ['mlp', 'cnn', 'resnet'] as const;
export const SOURCES = ['small', 'sampler'] as const;
export const EVAL_SPLITS = ['test', 'wide', 'deep', 'dense', 'bn-free'] as const;
export const OPTIMIZERS = ['adam', 'sgd'] as const;
/** GHN architectures `ghn train` meta-trains: ppuda's GHN-2, ghn3's GHN-3 (Graphormer layers), LoGAH (GHN-3 + low-rank decoder). */
export const GHN_TYPES = ['ghn2', 'ghn3', 'logah'] as const;

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const backend = z.enum(BACKENDS).optional();

export const trainSchema = z
  .object({
    steps: posInt,
    archsPerStep: posInt,
    batchSize: posInt,
    lr: z.number().positive().finite(),
    weightDecay: z.number().nonnegative().finite(),
    gradClip: z.number().positive().finite(),
    seed: nonNegInt,
    ghnType: z.enum(GHN_TYPES),
    hid: posInt.refine((h) => h % 4 === 0, 'must be a multiple of 4 (the shape encoder uses hid/4 per dimension)'),
    source: z.enum(SOURCES),
    families: z.array(z.enum(FAMILIES)).min(1),
    trainSamples: posInt.max(60000),
    checkpointEvery: posInt,
    backend,
  })
  .strict();
export type GhnTrainOptions = z.infer<typeof trainSchema>;

export const TRAIN_DEFAULTS: Omit<GhnTrainOptions, 'backend'> = {
  steps: 200,
  archsPerStep: 8,
  batchSize: 64,
  lr: 1e-3,
  weightDecay: 1e-5,
  gradClip: 5,
  seed: 0,
  ghnType: 'ghn2',
  hid: 32,
  source: 'small',
  families: ['mlp', 'cnn'],
  trainSamples: 60000,
  checkpointEvery: 50,
};

export const predictSchema = z
  .object({
    ghn: z.string().min(1),
    model: z.enum(ZOO_MODELS as unknown as [string, ...string[]]),
    out: z.string().min(1).refine((p) => p.endsWith('.safetensors'), 'must name a .safetensors file'),
    numClasses: posInt.optional(),
    backend,
  })
  .strict();
export type GhnPredictOptions = z.infer<typeof predictSchema>;

export const evalSchema = z
  .object({
    ghn: z.string().min(1),
    split: z.enum(EVAL_SPLITS).optional(),
    archs: posInt,
    models: z.array(z.enum(ZOO_MODELS as unknown as [string, ...string[]])).min(1),
    fineTuneSteps: nonNegInt,
    optimizer: z.enum(OPTIMIZERS),
    lr: z.number().positive().finite().optional(),
    testSamples: posInt.max(10000),
    batchSize: posInt,
    seed: nonNegInt,
    backend,
  })
  .strict();
export type GhnEvalOptions = z.infer<typeof evalSchema>;

export const EVAL_DEFAULTS: Omit<GhnEvalOptions, 'ghn' | 'backend' | 'split' | 'lr'> = {
  archs: 10,
  models: ['lenet5', 'mlp', 'resnet20'],
  fineTuneSteps: 0,
  optimizer: 'adam',
  testSamples: 10000,
  batchSize: 100,
  seed: 0,
};

const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Validates `values` (flag values merged over defaults) with `schema`; the first issue becomes a UsageError naming its flag. */
export function validate<T>(schema: z.ZodType<T>, values: Record<string, unknown>): T {
  const r = schema.safeParse(values);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new UsageError(`unknown option(s) ${issue.keys.map(flag).join(', ')}`);
  const key = String(issue.path[0] ?? '');
  if (issue.code === 'invalid_enum_value') {
    const got = issue.received;
    const what = key === 'model' || key === 'models' ? 'a model of the zoo' : 'one of';
    throw new UsageError(`${flag(key)}: '${String(got)}' is not ${what} ${issue.options.join(', ')}`);
  }
  throw new UsageError(`${flag(key)}: ${issue.message}`);
}
