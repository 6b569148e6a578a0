import { HypernetsError } from '@hypernets/core/errors';
import { z } from 'zod';
import { intSchema as int, realSchema as real } from '../args.js';

/**
 * The `hypernets continual` configuration: defaults per benchmark (the paper's protocol from
 * hypercl's `train_args_default.py`, except a small iteration count so the bare command ends
 * in minutes), overridden by a JSON config file, overridden by flags given on the command line.
 */
export const BENCHMARKS = ['split-mnist', 'permuted-mnist'] as const;
export const SCENARIOS = ['cl1', 'cl2', 'cl3'] as const;
export const METHODS = ['hnet', 'ewc', 'si', 'finetune'] as const;
export const BACKENDS = ['auto', 'cuda', 'webgpu', 'wasm', 'cpu'] as const;

/**
 * Bounds. A config file's numbers reach here unparsed (1e20 is an integer to JSON), so every
 * option has a range; the command-line parsers (args.ts) only check the spelling.
 */
export const MAX_STEPS = 10_000_000;
export const MAX_TASKS = 100;
export const MAX_WIDTH = 100_000;
export const MAX_SEED = 2 ** 31 - 1; // Rng takes a 32-bit seed: larger ones would wrap
/** MNIST's training images per digit 0–9 (60,000 in all): Split-MNIST task t holds digits 2t and 2t+1. */
export const MNIST_TRAIN_PER_DIGIT = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949] as const;
export const MNIST_TRAIN = 60_000;

const posInt = (max: number) => int(1, max);
const nonNegInt = (max: number) => int(0, max);
const widths = z.array(posInt(MAX_WIDTH)).min(1).max(64);

export const configSchema = z
  .object({
    benchmark: z.enum(BENCHMARKS),
    tasks: posInt(MAX_TASKS),
    scenario: z.enum(SCENARIOS),
    method: z.enum(METHODS),
    iterations: posInt(MAX_STEPS),
    /** At most the smallest task's training set (checked per benchmark in resolveConfig). */
    batchSize: posInt(MNIST_TRAIN),
    lr: real(0, 10, { above: true }),
    seed: nonNegInt(MAX_SEED),
    /** Seed of the Permuted-MNIST permutations (hypercl: fixed, independent of the run seed). */
    dataSeed: nonNegInt(MAX_SEED),
    valSize: nonNegInt(MNIST_TRAIN),
    targetHidden: widths,
    backend: z.enum(BACKENDS).optional(),
    checkpointEvery: posInt(MAX_STEPS),
    evalBatchSize: posInt(MNIST_TRAIN),
    hnet: z
      .object({
        hidden: widths,
        chunkSize: posInt(100_000_000),
        taskEmbedding: posInt(MAX_WIDTH),
        chunkEmbedding: posInt(MAX_WIDTH),
        activation: z.enum(['relu', 'elu', 'tanh']),
        init: z.enum(['hyperfan-in', 'hyperfan-out', 'default', 'xavier']),
        flatOrder: z.enum(['native', 'torch']),
        beta: real(0, 1e6),
        lookahead: z.boolean(),
        regTasks: posInt(MAX_TASKS).nullable(),
        onlineTargets: z.boolean(),
        resetOptimizer: z.boolean(),
      })
      .strict(),
    ewc: z
      .object({
        lambda: real(0, 1e12).optional(),
        gamma: real(0, 1).optional(),
        fisherN: posInt(MNIST_TRAIN).nullable().optional(),
      })
      .strict(),
    si: z.object({ c: real(0, 1e12).optional(), xi: real(0, 1e6, { above: true }).optional() }).strict(),
  })
  .strict();

export type ContinualConfig = z.infer<typeof configSchema>;

/** Iterations per task the paper used (the bare command runs fewer; pass --iterations). */
export const PAPER_ITERATIONS = { 'split-mnist': 2000, 'permuted-mnist': 5000 } as const;

export function defaults(benchmark: (typeof BENCHMARKS)[number]): ContinualConfig {
  const common = {
    scenario: 'cl1',
    method: 'hnet',
    iterations: 250,
    batchSize: 128,
    seed: 0,
    dataSeed: 42,
    valSize: 0,
    checkpointEvery: 500,
    evalBatchSize: 1000,
    ewc: {},
    si: {},
  } as const;
  if (benchmark === 'split-mnist')
    return {
      ...common,
      benchmark,
      tasks: 5,
      lr: 1e-3,
      targetHidden: [400, 400],
      hnet: {
        hidden: [10, 10],
        chunkSize: 42000,
        taskEmbedding: 96,
        chunkEmbedding: 96,
        activation: 'relu',
        init: 'hyperfan-in',
        flatOrder: 'torch',
        beta: 0.01,
        lookahead: true,
        regTasks: null,
        onlineTargets: false,
        resetOptimizer: false,
      },
      ewc: {},
      si: {},
    };
  return {
    ...common,
    benchmark,
    tasks: 10,
    lr: 1e-4,
    targetHidden: [1000, 1000],
    hnet: {
      hidden: [25, 25],
      chunkSize: 78000,
      taskEmbedding: 24,
      chunkEmbedding: 8,
      activation: 'elu',
      init: 'hyperfan-in',
      flatOrder: 'torch',
      beta: 0.1,
      lookahead: true,
      regTasks: null,
      onlineTargets: false,
      resetOptimizer: false,
    },
    ewc: {},
    si: {},
  };
}

const usageErrorMarker = 'hypernets.error.UsageError';
const usageErrorSymbol = Symbol.for(usageErrorMarker);

/** A bad command line (exit code 2); thrown before any data or backend loads. */
export class UsageError extends HypernetsError {
  private readonly [usageErrorSymbol] = true;
  override readonly name: string = 'UsageError';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }

  static override isInstance(error: unknown): error is UsageError {
    return HypernetsError.hasMarker(error, usageErrorMarker);
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isObject(v) && isObject(base[k]) ? merge(base[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/** Flag spelling of a config path, for messages (`hnet.chunkSize` → `--chunk-size` / config `hnet.chunkSize`). */
const FLAG_OF: Record<string, string> = {
  'hnet.hidden': '--hnet-hidden',
  'hnet.chunkSize': '--chunk-size',
  'hnet.taskEmbedding': '--task-emb',
  'hnet.chunkEmbedding': '--chunk-emb',
  'hnet.beta': '--beta',
  'hnet.lookahead': '--no-lookahead',
  'hnet.regTasks': '--reg-tasks',
  'hnet.onlineTargets': '--online-targets',
  'hnet.resetOptimizer': '--reset-optimizer',
  'hnet.init': '--hnet-init',
  'hnet.flatOrder': '--hnet-flat-order',
  'hnet.activation': '--hnet-activation',
  'ewc.lambda': '--ewc-lambda',
  'ewc.gamma': '--ewc-gamma',
  'si.c': '--si-c',
};

function flagName(path: string): string {
  return FLAG_OF[path] ?? `--${path.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Resolves the configuration: benchmark defaults ← config file ← command-line flags.
 * Everything is validated here, before any work; a bad value is a UsageError naming the flag
 * (or the config-file key) and what it takes.
 */
export function resolveConfig(flags: Record<string, unknown>, content: unknown, fileName?: string): ContinualConfig {
  // `content` is null for "no config file"; a file's own content may be anything JSON holds, null included
  if (fileName !== undefined && !isObject(content))
    throw new UsageError(
      `--config ${fileName}: must hold a JSON object of options (e.g. {"iterations": 500}), not ${describeJson(content)}`,
    );
  if (content !== null && !isObject(content))
    throw new UsageError(`config: must be a JSON object of options, not ${describeJson(content)}`);
  const file = content as Record<string, unknown> | null;
  const benchmark = (flags.benchmark ?? file?.benchmark ?? 'split-mnist') as string;
  if (!(BENCHMARKS as readonly string[]).includes(benchmark))
    throw new UsageError(`--benchmark must be one of ${BENCHMARKS.join(', ')}, got '${benchmark}'`);
  const merged = merge(
    merge(defaults(benchmark as ContinualConfig['benchmark']) as unknown as Record<string, unknown>, file ?? {}),
    flags,
  );
  const r = configSchema.safeParse(merged);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.join('.');
    const fromFile =
      file !== null &&
      path.split('.').reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), file) !== undefined &&
      flags[issue.path[0] as string] === undefined;
    const where =
      issue.code === 'unrecognized_keys'
        ? `${fileName ?? 'config'}: unknown key(s) ${issue.keys.map((k) => `'${path ? `${path}.` : ''}${k}'`).join(', ')}`
        : fromFile
          ? `${fileName}: '${path}'`
          : flagName(issue.path.filter((k) => typeof k === 'string').join('.'));
    throw new UsageError(issue.code === 'unrecognized_keys' ? where : `${where}: ${issue.message}`);
  }
  const c = r.data;
  if (c.benchmark === 'split-mnist' && c.tasks > 5)
    throw new UsageError(`--tasks: Split-MNIST has at most 5 tasks of 2 digits, got ${c.tasks}`);
  const taskSize = smallestTaskTrainSize(c);
  if (c.valSize >= taskSize.size)
    throw new UsageError(
      `--val-size: ${c.valSize} leaves no training samples: ${taskSize.what} has ${taskSize.size} training images; use less than ${taskSize.size}`,
    );
  const trainSize = taskSize.size - c.valSize;
  if (c.batchSize > trainSize)
    throw new UsageError(
      `--batch-size: ${c.batchSize} is larger than ${taskSize.what}'s training set ` +
        `(${taskSize.size}${c.valSize ? ` − ${c.valSize} validation` : ''} = ${trainSize} images); use at most ${trainSize}`,
    );
  return c;
}

/** The training images of the smallest task the run trains (before the validation split). */
export function smallestTaskTrainSize(c: Pick<ContinualConfig, 'benchmark' | 'tasks'>): { size: number; what: string } {
  if (c.benchmark === 'permuted-mnist') return { size: MNIST_TRAIN, what: 'each Permuted-MNIST task' };
  let best = { size: Infinity, what: '' };
  for (let t = 0; t < Math.min(c.tasks, 5); t++) {
    const size = MNIST_TRAIN_PER_DIGIT[2 * t]! + MNIST_TRAIN_PER_DIGIT[2 * t + 1]!;
    if (size < best.size) best = { size, what: `Split-MNIST task ${t + 1} (digits ${2 * t}/${2 * t + 1})` };
  }
  return best;
}

function describeJson(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return `a ${typeof x}`;
}

/** What must match for --resume: everything but where it runs and how it prints. */
export function fingerprintOf(cfg: ContinualConfig): unknown {
  const { backend: _b, evalBatchSize: _e, checkpointEvery: _c, ...rest } = cfg;
  return rest;
}
