import { z } from 'zod';
import { intSchema as int, realSchema as real } from '../args.js';
import { BACKENDS, MAX_SEED, MAX_STEPS, UsageError } from '../continual/options.js';
import { ZOO_MODELS } from './zoo-names.js';

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

const backend = z.enum(BACKENDS).optional();

export const trainSchema = z
  .object({
    steps: int(1, MAX_STEPS),
    archsPerStep: int(1, 1024),
    /** At most --train-samples (checked below). */
    batchSize: int(1, 60000),
    lr: real(0, 10, { above: true }),
    weightDecay: real(0, 1),
    gradClip: real(0, 1e6, { above: true }),
    seed: int(0, MAX_SEED),
    ghnType: z.enum(GHN_TYPES),
    hid: int(1, 4096).refine(
      (h) => h % 4 === 0,
      'must be a multiple of 4 (the shape encoder uses hid/4 per dimension)',
    ),
    source: z.enum(SOURCES),
    families: z.array(z.enum(FAMILIES)).min(1),
    trainSamples: int(1, 60000),
    checkpointEvery: int(1, MAX_STEPS),
    backend,
  })
  .strict()
  .refine((o) => o.batchSize <= o.trainSamples, {
    message: 'must be at most --train-samples (60,000 by default: all MNIST training images)',
    path: ['batchSize'],
  });
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
    out: z
      .string()
      .min(1)
      .refine((p) => p.endsWith('.safetensors'), 'must name a .safetensors file'),
    numClasses: int(1, 100_000).optional(),
    backend,
  })
  .strict();
export type GhnPredictOptions = z.infer<typeof predictSchema>;

export const evalSchema = z
  .object({
    ghn: z.string().min(1),
    split: z.enum(EVAL_SPLITS).optional(),
    archs: int(1, 100_000),
    models: z.array(z.enum(ZOO_MODELS as unknown as [string, ...string[]])).min(1),
    fineTuneSteps: int(0, MAX_STEPS),
    optimizer: z.enum(OPTIMIZERS),
    lr: real(0, 10, { above: true }).optional(),
    testSamples: int(1, 10000),
    batchSize: int(1, 10000),
    seed: int(0, MAX_SEED),
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

/** What must match for --resume: everything but where it runs and how often it checkpoints. */
export function trainFingerprint(o: GhnTrainOptions): unknown {
  const { backend: _b, checkpointEvery: _c, ghnType, ...rest } = o;
  // runs checkpointed before --ghn-type existed are GHN-2 runs: a GHN-2 run's fingerprint leaves it out, so they still resume
  return ghnType === 'ghn2' ? rest : { ...rest, ghnType };
}
