import { z } from 'zod';
import { ConfigError } from '../errors/index.js';

const posInt = z.number().int().positive();

/**
 * The options every trainer takes besides its own: how often to report and checkpoint, where,
 * the seed, and what a checkpoint must match to be resumed. Each trainer extends this schema
 * (`trainingOptionsSchema.extend({...})`) and parses its options with `parseTrainingOptions`.
 */
export const trainingOptionsSchema = z.object({
  /** Seeds everything random in the run (batch order, draws, dropout). Default 0. */
  seed: z.number().int().nonnegative().default(0),
  /** Read the loss back and emit a step event every this many steps. */
  logEvery: posInt.optional(),
  /** Where checkpoints go (`checkpoint.safetensors` + `checkpoint.json`); none: no checkpoints. */
  checkpointDir: z.string().min(1).optional(),
  /** Checkpoint every this many steps (and at the trainer's natural ends). Needs checkpointDir. */
  checkpointEvery: posInt.optional(),
  /** What must match for a checkpoint to be resumed (the run's configuration); stored and compared. */
  fingerprint: z.unknown().optional(),
  /** tfjs-style callbacks: `onStep`, `onCheckpoint`, …, and `onEvent` for every event. */
  callbacks: z.record(z.string(), z.unknown()).optional(),
});

/** The options every trainer takes besides its own (see `trainingOptionsSchema`). */
export interface TrainingOptions {
  /** Seeds everything random in the run (batch order, draws, dropout). Default 0. */
  seed?: number;
  /** Read the loss back and emit a step event every this many steps. */
  logEvery?: number;
  /** Where checkpoints go (`checkpoint.safetensors` + `checkpoint.json`); none: no checkpoints. */
  checkpointDir?: string;
  /** Checkpoint every this many steps (and at the trainer's natural ends). Needs checkpointDir. */
  checkpointEvery?: number;
  /** What must match for a checkpoint to be resumed (the run's configuration); stored and compared. */
  fingerprint?: unknown;
}

/** An option that holds an object the trainer uses (a model, a dataset), checked to be one. */
export function objectOption<T>(what: string) {
  return z.custom<T>((v) => v !== null && typeof v === 'object', { message: `must be ${what}` });
}

/**
 * Parses a trainer's options against its schema: unknown keys, wrong types and out-of-range
 * values are a ConfigError naming the option; `checkpointEvery` without `checkpointDir` too.
 */
export function parseTrainingOptions<S extends z.ZodTypeAny>(schema: S, options: unknown): z.output<S> {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new ConfigError('options', 'must be an object of trainer options');
  const r = schema.safeParse(options);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    throw new ConfigError(issue.path.join('.') || 'options', issue.message + keys);
  }
  const o = r.data as { checkpointEvery?: number; checkpointDir?: string };
  if (o.checkpointEvery !== undefined && !o.checkpointDir)
    throw new ConfigError('checkpointEvery', 'needs checkpointDir');
  return r.data as z.output<S>;
}
