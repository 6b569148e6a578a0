import { z } from 'zod';
import { intSchema as int, realSchema as real } from '../args.js';
import { BACKENDS, MAX_SEED, MAX_STEPS } from '../continual/options.js';

/**
 * `hypernets moe lm` options (and, later, the other `moe` subcommands'): validated here (zod),
 * before any work; a bad value is a UsageError (exit code 2) naming the flag and what it takes.
 * The router names are copied here so that `--help` and usage errors answer without loading
 * tfjs (moe.test.ts checks they equal @hypernets/adapters' ROUTER_KINDS).
 */

/** @hypernets/adapters' ROUTER_KINDS. */
export const ROUTERS = ['smoe', 'smoe-dropout', 'hyperrouter', 'dense'] as const;
export const POSITIONS = ['learned', 'sinusoidal'] as const;

/** The k's tested by default: these and E, those ≤ E (MoeLmTrainer's default). */
const DEFAULT_TEST_K = [1, 2, 4, 8] as const;
/** The longest context: the learned position table is seqLength × dModel. */
export const MAX_SEQ_LENGTH = 4096;
export const MAX_EXPERTS = 1024;
/** Symbols of a split read at validation or test, at most (the corpus splits hold about a million). */
const MAX_SYMBOLS = 1_000_000_000;

const distinct = (xs: readonly unknown[]) => new Set(xs).size === xs.length;

export const lmSchema = z
  .object({
    router: z.enum(ROUTERS),
    steps: int(1, MAX_STEPS),
    batchSize: int(1, 4096),
    seqLength: int(1, MAX_SEQ_LENGTH),
    dModel: int(1, 16_384),
    heads: int(1, 1024),
    layers: int(1, 256),
    experts: int(1, MAX_EXPERTS),
    expertHidden: int(1, 65_536),
    /** HyperRouter's hypernetwork width (given: --router hyperrouter only). */
    hyperSize: int(1, 16_384).optional(),
    /** k at the first and the last step: default E/2 → E (given: routed models only). */
    kStart: int(1, MAX_EXPERTS).optional(),
    kEnd: int(1, MAX_EXPERTS).optional(),
    /** k of the validation that picks the best step: default min(2, E). */
    evalK: int(1, MAX_EXPERTS).optional(),
    /** The k's of the final test: default 1, 2, 4, 8 and E (those ≤ E). */
    testK: z
      .array(int(1, MAX_EXPERTS))
      .min(1, 'needs at least one k')
      .max(64, 'takes at most 64 values')
      .refine(distinct, 'names a k twice')
      .transform((k) => [...k].sort((a, b) => a - b))
      .optional(),
    /** Validate every n steps: default steps / 10. */
    evalEvery: int(1, MAX_STEPS).optional(),
    evalSymbols: int(1, MAX_SYMBOLS),
    testSymbols: int(1, MAX_SYMBOLS),
    lr: real(0, 10, { above: true }),
    gradClip: real(0, 1e6, { above: true }),
    loadBalance: real(0, 1e6),
    positions: z.enum(POSITIONS),
    seed: int(0, MAX_SEED),
    checkpointEvery: int(1, MAX_STEPS),
    backend: z.enum(BACKENDS).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    if (o.dModel % o.heads !== 0)
      issue('dModel', `${o.dModel} is not divisible by --heads ${o.heads}; each head takes d-model / heads features`);
    const dense = o.router === 'dense';
    for (const key of ['kStart', 'kEnd', 'evalK', 'testK'] as const) {
      const v = o[key];
      if (v === undefined) continue;
      if (dense) {
        issue(key, 'the dense model routes nothing (--router dense): leave it out');
        continue;
      }
      const over = (Array.isArray(v) ? v : [v]).filter((k) => k > o.experts);
      if (over.length > 0)
        issue(key, `k ${over.join(', ')} is more than the experts (--experts ${o.experts}); each k is at most E`);
    }
    if (o.hyperSize !== undefined && o.router !== 'hyperrouter')
      issue('hyperSize', `sizes HyperRouter's hypernetwork only (--router hyperrouter), not --router ${o.router}`);
    if (dense && o.loadBalance > 0)
      issue('loadBalance', 'balances the routed experts; the dense model (--router dense) has none: leave it out');
    if (o.evalEvery !== undefined && o.evalEvery > o.steps) issue('evalEvery', `must be at most --steps (${o.steps})`);
    // every evaluation reads whole windows of seq-length symbols: at least one
    for (const key of ['evalSymbols', 'testSymbols'] as const)
      if (o[key] < o.seqLength) issue(key, `must be at least --seq-length (${o.seqLength}): one window`);
  });
export type MoeLmOptions = z.infer<typeof lmSchema>;

export const LM_DEFAULTS = {
  steps: 1500,
  batchSize: 16,
  seqLength: 128,
  dModel: 256,
  heads: 8,
  layers: 4,
  experts: 16,
  expertHidden: 128,
  evalSymbols: 32_768,
  testSymbols: 131_072,
  lr: 1e-3,
  gradClip: 0.25,
  loadBalance: 0,
  positions: 'learned',
  seed: 0,
  checkpointEvery: 100,
} satisfies Partial<MoeLmOptions>;

/** HyperRouter's hypernetwork width by default (the paper's scripts). */
export const DEFAULT_HYPER_SIZE = 64;

/** The options with every default filled in (k's from E), as the run, results.json and the fingerprint see them. */
export interface ResolvedLmOptions extends Omit<
  MoeLmOptions,
  'hyperSize' | 'kStart' | 'kEnd' | 'evalK' | 'testK' | 'evalEvery'
> {
  hyperSize: number;
  /** null for the dense model (no routing). */
  kStart: number | null;
  kEnd: number | null;
  evalK: number | null;
  /** The dense model's one test is listed under E. */
  testK: number[];
  evalEvery: number;
}

export function resolveLm(o: MoeLmOptions): ResolvedLmOptions {
  const e = o.experts;
  const routed = o.router !== 'dense';
  return {
    ...o,
    hyperSize: o.hyperSize ?? DEFAULT_HYPER_SIZE,
    kStart: routed ? (o.kStart ?? Math.max(1, Math.floor(e / 2))) : null,
    kEnd: routed ? (o.kEnd ?? e) : null,
    evalK: routed ? (o.evalK ?? Math.min(2, e)) : null,
    testK: routed ? (o.testK ?? [...new Set([...DEFAULT_TEST_K, e])].filter((k) => k <= e)) : [e],
    evalEvery: o.evalEvery ?? Math.max(1, Math.ceil(o.steps / 10)),
  };
}

/**
 * What must match for --resume: everything that changes the training (not the backend, the
 * checkpoint spacing, nor what the final test reads: a finished run resumed with other --test-k
 * or --test-symbols is tested again without training).
 */
export function lmFingerprint(o: ResolvedLmOptions): unknown {
  const { backend: _b, checkpointEvery: _c, testK: _k, testSymbols: _s, ...rest } = o;
  return { command: 'moe lm', ...rest };
}
