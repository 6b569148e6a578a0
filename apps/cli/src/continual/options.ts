import { z } from 'zod';

/**
 * The `hypernets continual` configuration: defaults per benchmark (the paper's protocol from
 * hypercl's `train_args_default.py`, except a small iteration count so the bare command ends
 * in minutes), overridden by a JSON config file, overridden by flags given on the command line.
 */
export const BENCHMARKS = ['split-mnist', 'permuted-mnist'] as const;
export const SCENARIOS = ['cl1', 'cl2', 'cl3'] as const;
export const METHODS = ['hnet', 'ewc', 'si', 'finetune'] as const;
export const BACKENDS = ['auto', 'cuda', 'webgpu', 'wasm', 'cpu'] as const;

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const widths = z.array(posInt).min(1);

export const configSchema = z
  .object({
    benchmark: z.enum(BENCHMARKS),
    tasks: posInt,
    scenario: z.enum(SCENARIOS),
    method: z.enum(METHODS),
    iterations: posInt,
    batchSize: posInt,
    lr: z.number().positive(),
    seed: nonNegInt,
    /** Seed of the Permuted-MNIST permutations (hypercl: fixed, independent of the run seed). */
    dataSeed: nonNegInt,
    valSize: nonNegInt,
    targetHidden: widths,
    backend: z.enum(BACKENDS).optional(),
    checkpointEvery: posInt,
    evalBatchSize: posInt,
    hnet: z
      .object({
        hidden: widths,
        chunkSize: posInt,
        taskEmbedding: posInt,
        chunkEmbedding: posInt,
        activation: z.enum(['relu', 'elu', 'tanh']),
        init: z.enum(['hyperfan-in', 'hyperfan-out', 'default', 'xavier']),
        flatOrder: z.enum(['native', 'torch']),
        beta: z.number().nonnegative(),
        lookahead: z.boolean(),
        regTasks: posInt.nullable(),
        onlineTargets: z.boolean(),
        resetOptimizer: z.boolean(),
      })
      .strict(),
    ewc: z.object({ lambda: z.number().nonnegative().optional(), gamma: z.number().min(0).max(1).optional(), fisherN: posInt.nullable().optional() }).strict(),
    si: z.object({ c: z.number().nonnegative().optional(), xi: z.number().positive().optional() }).strict(),
  })
  .strict();

export type ContinualConfig = z.infer<typeof configSchema>;

/** Iterations per task the paper used (the bare command runs fewer; pass --iterations). */
export const PAPER_ITERATIONS = { 'split-mnist': 2000, 'permuted-mnist': 5000 } as const;

export function defaults(benchmark: (typeof BENCHMARKS)[number]): ContinualConfig {
  const common = { scenario: 'cl1', method: 'hnet', iterations: 250, batchSize: 128, seed: 0, dataSeed: 42, valSize: 0, checkpointEvery: 500, evalBatchSize: 1000, ewc: {}, si: {} } as const;
  if (benchmark === 'split-mnist')
    return {
      ...common,
      benchmark,
      tasks: 5,
      lr: 1e-3,
      targetHidden: [400, 400],
      hnet: { hidden: [10, 10], chunkSize: 42000, taskEmbedding: 96, chunkEmbedding: 96, activation: 'relu', init: 'hyperfan-in', flatOrder: 'torch', beta: 0.01, lookahead: true, regTasks: null, onlineTargets: false, resetOptimizer: false },
      ewc: {},
      si: {},
    };
  return {
    ...common,
    benchmark,
    tasks: 10,
    lr: 1e-4,
    targetHidden: [1000, 1000],
    hnet: { hidden: [25, 25], chunkSize: 78000, taskEmbedding: 24, chunkEmbedding: 8, activation: 'elu', init: 'hyperfan-in', flatOrder: 'torch', beta: 0.1, lookahead: true, regTasks: null, onlineTargets: false, resetOptimizer: false },
    ewc: {},
    si: {},
  };
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
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
export function resolveConfig(flags: Record<string, unknown>, file: Record<string, unknown> | null, fileName?: string): ContinualConfig {
  if (file !== null && !isObject(file)) throw new UsageError(`${fileName}: must hold a JSON object of options`);
  const benchmark = (flags.benchmark ?? file?.benchmark ?? 'split-mnist') as string;
  if (!(BENCHMARKS as readonly string[]).includes(benchmark)) throw new UsageError(`--benchmark must be one of ${BENCHMARKS.join(', ')}, got '${benchmark}'`);
  const merged = merge(merge(defaults(benchmark as ContinualConfig['benchmark']) as unknown as Record<string, unknown>, file ?? {}), flags);
  const r = configSchema.safeParse(merged);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.join('.');
    const fromFile = file !== null && path.split('.').reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), file) !== undefined && flags[issue.path[0] as string] === undefined;
    const where = issue.code === 'unrecognized_keys' ? `${fileName ?? 'config'}: unknown key(s) ${issue.keys.map((k) => `'${path ? `${path}.` : ''}${k}'`).join(', ')}` : fromFile ? `${fileName}: '${path}'` : flagName(path);
    throw new UsageError(issue.code === 'unrecognized_keys' ? where : `${where}: ${issue.message}`);
  }
  if (r.data.benchmark === 'split-mnist' && r.data.tasks > 5) throw new UsageError(`--tasks: Split-MNIST has at most 5 tasks of 2 digits, got ${r.data.tasks}`);
  return r.data;
}
