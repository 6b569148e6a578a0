import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  Adam,
  CheckpointError,
  ConfigError,
  Rng,
  TrainingError,
  clipByGlobalNorm,
  hostReadsAreSynchronous,
  restoreVariables,
  type RunOptions,
  type Trainer,
  type TrainerCallbacks,
} from '@hypernets/core';
import {
  BestSnapshot,
  RunCheckpoint,
  boundedArray,
  eventEmitter,
  objectOption,
  parseTrainingOptions,
  rngStateSchema,
  runSteps,
  trainingOptionsSchema,
} from '@hypernets/core/internal';
import { topKAt } from './dispatch.js';
import type { RoutingStats } from './layer.js';
import type { MoeLanguageModel } from './lm.js';

/**
 * Trains a mixture-of-experts character LM the way HyperRouter's and SMoE-Dropout's
 * `train.py` do, scaled to a CPU budget:
 * - batches of `batchSize` random windows of `seqLength + 1` symbols of the training split;
 * - Adam, the learning rate annealed from `lr` to 0 on a cosine (their CosineAnnealingLR, no
 *   warm-up), gradients clipped to global norm 0.25;
 * - k rises linearly from `kStart` to `kEnd` over the run (their `linear_increase`; SMoE,
 *   SMoE-Dropout and HyperRouter alike; the dense model has none);
 * - every `evalEvery` steps, validation bits per character at `evalK` (their "sparse"
 *   validation at k = 2); the variables of the best validation step are kept and tested;
 * - at the end, test BPC at each k of `testK`, with routing statistics (router entropy,
 *   expert usage per block).
 * On cpu and wasm the taped pass reads each block's top-k ids as it goes (one pass, as PyTorch);
 * on other backends each step first records them (`model.record`, `await data()`), then replays
 * them under the tape. Checkpoints hold the variables, Adam's state, the best snapshot and the
 * progress; a resumed run ends with the numbers of one that never stopped (same backend).
 */

export const MOE_LM_EVENT_TYPES = ['step', 'eval', 'checkpoint', 'resume'] as const;

export type MoeLmTrainEvent =
  | { type: 'step'; step: number; steps: number; loss: number; lr: number; k: number | null }
  | { type: 'eval'; step: number; bpc: number; best: boolean }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'resume'; step: number; path: string };

/** Symbol ids per split (e.g. @hypernets/data's `loadCharCorpus`). */
export interface CharSplits {
  readonly train: Uint8Array;
  readonly valid: Uint8Array;
  readonly test: Uint8Array;
}

export interface MoeLmTrainerOptions {
  model: MoeLanguageModel;
  corpus: CharSplits;
  steps: number;
  /** Windows per step. Default 16. */
  batchSize?: number;
  /** Peak learning rate (cosine-annealed to 0). Default 1e-3. */
  lr?: number;
  /** Global gradient-norm bound. Default 0.25 (the reference's `--clip`). */
  gradClip?: number;
  /** k at the first and the last step. Default E/2 → E (the reference's 8 → 16 of 16). */
  kStart?: number;
  kEnd?: number;
  /** Validate every this many steps (and at the end). Default steps / 10. */
  evalEvery?: number;
  /** k of the validation that picks the best step. Default 2. */
  evalK?: number;
  /** Symbols of the validation split used (from its start). Default 65,536. */
  evalSymbols?: number;
  /** The k's of the final test. Default 1, 2, 4, 8 and E (those ≤ E). */
  testK?: readonly number[];
  /** Symbols of the test split used (from its start). Default: all. */
  testSymbols?: number;
  /** Windows per evaluation forward. Default 32. */
  evalBatch?: number;
  seed?: number;
  logEvery?: number;
  checkpointDir?: string;
  checkpointEvery?: number;
  fingerprint?: unknown;
  callbacks?: TrainerCallbacks<MoeLmTrainEvent>;
}

/** Test numbers at one k. */
export interface MoeLmTestResult {
  k: number;
  bpc: number;
  /** Mean entropy (nats) of the router's softmax over all experts, over tokens and blocks. */
  routerEntropy: number;
  /** Share of routed (token, slot) pairs per expert, per block [blocks][E]. */
  usage: number[][];
}

export interface MoeLmTrainResult {
  router: string;
  /** Test BPC by k (the dense model: one entry under its E). */
  bpc: Record<string, number>;
  tests: MoeLmTestResult[];
  /** Router entropy at the validation k (null for dense). */
  routerEntropy: number | null;
  valBpc: number;
  bestStep: number;
  steps: number;
  seconds: number;
  curve: { step: number; loss: number; k: number | null }[];
  evals: { step: number; bpc: number }[];
  params: { total: number; trainable: number; activePerToken: number };
}

const progressSchema = z.object({
  step: z.number().int().nonnegative(),
  rng: rngStateSchema,
  seconds: z.number().nonnegative(),
  adam: z.number().int().nonnegative(),
  bestStep: z.number().int().nonnegative(),
  bestBpc: z.number(),
  curve: boundedArray(z.object({ step: z.number().int(), loss: z.number(), k: z.number().int().nullable() })),
  evals: boundedArray(z.object({ step: z.number().int(), bpc: z.number() })),
});
type Progress = z.infer<typeof progressSchema>;

const optionsSchema = trainingOptionsSchema
  .extend({
    model: objectOption<MoeLanguageModel>('a MoeLanguageModel'),
    corpus: objectOption<CharSplits>('the corpus splits { train, valid, test }'),
    steps: z.number().int().positive(),
    batchSize: z.number().int().positive().default(16),
    lr: z.number().positive().default(1e-3),
    gradClip: z.number().positive().default(0.25),
    kStart: z.number().int().positive().optional(),
    kEnd: z.number().int().positive().optional(),
    evalEvery: z.number().int().positive().optional(),
    evalK: z.number().int().positive().default(2),
    evalSymbols: z.number().int().positive().default(65_536),
    testK: z.array(z.number().int().positive()).min(1).max(64).optional(),
    testSymbols: z.number().int().positive().optional(),
    evalBatch: z.number().int().positive().default(32),
    logEvery: z.number().int().positive().default(10),
  })
  .strict();

export interface ResolvedMoeLmTrainerOptions {
  steps: number;
  batchSize: number;
  lr: number;
  gradClip: number;
  kStart: number | null;
  kEnd: number | null;
  evalEvery: number;
  evalK: number | null;
  evalSymbols: number;
  testK: number[];
  testSymbols: number | null;
  evalBatch: number;
  seed: number;
  logEvery: number;
  checkpointDir: string | undefined;
  checkpointEvery: number | undefined;
}

const LN2 = Math.log(2);

export class MoeLmTrainer implements Trainer<MoeLmTrainResult> {
  readonly config: ResolvedMoeLmTrainerOptions;
  readonly model: MoeLanguageModel;
  private readonly corpus: CharSplits;
  private readonly vars: tf.Variable[];
  private readonly adam: Adam;
  private readonly emit: (e: MoeLmTrainEvent) => Promise<void>;
  private readonly checkpoint: RunCheckpoint<Progress>;
  private readonly best: BestSnapshot;

  constructor(options: MoeLmTrainerOptions) {
    const o = parseTrainingOptions(optionsSchema, options);
    const m = o.model;
    const t = m.config.seqLength;
    for (const split of ['train', 'valid', 'test'] as const) {
      const ids = o.corpus[split];
      if (!(ids instanceof Uint8Array) || ids.length < t + 1)
        throw new ConfigError(
          `corpus.${split}`,
          `must be a Uint8Array of at least seqLength + 1 = ${t + 1} symbol ids`,
        );
    }
    const routed = m.moe.length > 0;
    const e = m.config.experts;
    const kOk = (field: string, k: number) => {
      if (k > e) throw new ConfigError(field, `must be at most the experts (${e}), got ${k}`);
      return k;
    };
    this.config = {
      steps: o.steps,
      batchSize: o.batchSize,
      lr: o.lr,
      gradClip: o.gradClip,
      kStart: routed ? kOk('kStart', o.kStart ?? Math.max(1, Math.floor(e / 2))) : null,
      kEnd: routed ? kOk('kEnd', o.kEnd ?? e) : null,
      evalEvery: o.evalEvery ?? Math.max(1, Math.ceil(o.steps / 10)),
      evalK: routed ? kOk('evalK', o.evalK) : null,
      evalSymbols: o.evalSymbols,
      testK: routed ? (o.testK ?? [1, 2, 4, 8, e].filter((k, i, a) => k <= e && a.indexOf(k) === i)) : [e],
      testSymbols: o.testSymbols ?? null,
      evalBatch: o.evalBatch,
      seed: o.seed,
      logEvery: o.logEvery,
      checkpointDir: o.checkpointDir,
      checkpointEvery: o.checkpointEvery,
    };
    if (routed) for (const k of this.config.testK) kOk('testK', k);
    this.model = m;
    this.best = new BestSnapshot(() => m.variables);
    this.corpus = o.corpus;
    this.vars = m.trainable.map((n) => m.variables[n]!);
    this.adam = new Adam(this.vars, { lr: o.lr });
    this.emit = eventEmitter(MOE_LM_EVENT_TYPES, (o.callbacks ?? {}) as TrainerCallbacks<MoeLmTrainEvent>);
    this.checkpoint = new RunCheckpoint({
      dir: o.checkpointDir,
      kind: 'moeLmTrainer',
      what: 'MoE language-model training',
      progress: progressSchema,
      fingerprint: o.fingerprint ?? null,
      hint: 'use another output directory, or the options it was started with',
    });
  }

  /** The learning rate at `step` (1-based): cosine from lr to 0 over the run. */
  lrAt(step: number): number {
    const { lr, steps } = this.config;
    return 0.5 * lr * (1 + Math.cos((Math.PI * (step - 1)) / steps));
  }

  /** k at `step` (1-based), or null for the dense model. */
  kAt(step: number): number | null {
    const { kStart, kEnd, steps } = this.config;
    return kStart === null || kEnd === null ? null : topKAt(step - 1, steps, kStart, kEnd);
  }

  /** A batch of random windows of the training split: inputs and next-symbol targets [B, T]. */
  private batch(rng: Rng): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
    const { batchSize: b } = this.config;
    const t = this.model.config.seqLength;
    const ids = this.corpus.train;
    const x = new Int32Array(b * t);
    const y = new Int32Array(b * t);
    for (let i = 0; i < b; i++) {
      const s = rng.int(0, ids.length - t - 1);
      for (let j = 0; j < t; j++) {
        x[i * t + j] = ids[s + j]!;
        y[i * t + j] = ids[s + j + 1]!;
      }
    }
    return { inputs: tf.tensor2d(x, [b, t], 'int32'), targets: tf.tensor2d(y, [b, t], 'int32') };
  }

  /**
   * Bits per character of the first `symbols` symbols of a split at k (null: the model's
   * current k), in consecutive windows of seqLength (each predicts its symbols from the window's
   * start: no memory across windows), with the routing statistics.
   */
  async bitsPerChar(
    split: 'valid' | 'test',
    symbols: number | null,
    k: number | null,
  ): Promise<{ bpc: number; routerEntropy: number | null; usage: number[][] }> {
    const ids = this.corpus[split];
    const t = this.model.config.seqLength;
    const n = Math.min(ids.length - 1, symbols ?? ids.length - 1);
    const windows = Math.floor(n / t);
    if (windows < 1) throw new ConfigError(`${split} symbols`, `must be at least seqLength (${t})`);
    const before = this.model.topK;
    if (k !== null) this.model.setTopK(k);
    let nats = 0;
    let tokens = 0;
    let entropy = 0;
    const e = this.model.config.experts;
    const counts = this.model.moe.map(() => new Float64Array(e));
    try {
      for (let w0 = 0; w0 < windows; w0 += this.config.evalBatch) {
        const b = Math.min(this.config.evalBatch, windows - w0);
        const x = new Int32Array(b * t);
        const y = new Int32Array(b * t);
        for (let i = 0; i < b; i++)
          for (let j = 0; j < t; j++) {
            const at = (w0 + i) * t + j;
            x[i * t + j] = ids[at]!;
            y[i * t + j] = ids[at + 1]!;
          }
        const inputs = tf.tensor2d(x, [b, t], 'int32');
        const targets = tf.tensor2d(y, [b, t], 'int32');
        try {
          const r = await this.model.evaluate(inputs, targets);
          nats += r.nats;
          tokens += b * t;
          r.stats.forEach((s: RoutingStats, l) => {
            entropy += s.entropySum;
            for (let j = 0; j < e; j++) counts[l]![j]! += s.counts[j]!;
          });
        } finally {
          tf.dispose([inputs, targets]);
        }
      }
    } finally {
      if (before !== null) this.model.setTopK(before);
    }
    const blocks = this.model.moe.length;
    return {
      bpc: nats / tokens / LN2,
      routerEntropy: blocks > 0 ? entropy / (tokens * blocks) : null,
      usage: counts.map((c) => {
        const sum = c.reduce((a, v) => a + v, 0);
        return Array.from(c, (v) => v / sum);
      }),
    };
  }

  async run(options: RunOptions = {}): Promise<MoeLmTrainResult> {
    const c = this.config;
    let p: Progress = {
      step: 0,
      rng: new Rng(c.seed).getState(),
      seconds: 0,
      adam: 0,
      bestStep: 0,
      bestBpc: -1,
      curve: [],
      evals: [],
    };
    if (options.resume) p = (await this.restore()) ?? p;
    const rng = new Rng(p.rng);
    const t0 = performance.now();
    const prior = p.seconds;
    const snapshot = (step: number): Progress => ({
      ...p,
      step,
      rng: rng.getState(),
      seconds: prior + (performance.now() - t0) / 1000,
      adam: this.adam.t,
    });
    const step = await runSteps(
      {
        from: p.step,
        to: c.steps,
        logEvery: c.logEvery,
        checkpointEvery: this.checkpoint.path ? (c.checkpointEvery ?? null) : null,
        checkpointLast: this.checkpoint.path !== null,
      },
      {
        step: async (step, log) => {
          const k = this.kAt(step);
          if (k !== null) this.model.setTopK(k);
          const { inputs, targets } = this.batch(rng);
          const lr = this.lrAt(step);
          try {
            // On cpu and wasm the taped pass reads its routes itself; elsewhere they are recorded first.
            const routes =
              this.model.moe.length > 0 && !hostReadsAreSynchronous()
                ? (await this.model.record(inputs)).log
                : undefined;
            const aux: tf.Tensor[] = [];
            const { value, grads } = tf.variableGrads(() => {
              const ce = this.model.loss(inputs, targets, routes, aux);
              return (aux.length > 0 ? tf.add(ce, tf.addN(aux)) : ce) as tf.Scalar;
            }, this.vars);
            tf.dispose(aux);
            const clipped = clipByGlobalNorm(
              this.vars.map((v) => grads[v.name] ?? null),
              c.gradClip,
            );
            this.adam.step(clipped.grads, lr);
            tf.dispose([...Object.values(grads), ...clipped.grads.filter((g) => g !== null), clipped.norm]);
            if (log) {
              const loss = (await value.data())[0]!;
              if (!Number.isFinite(loss))
                throw new TrainingError(`the loss at step ${step} is ${loss}; lower the learning rate`);
              p.curve.push({ step, loss, k });
              await this.emit({ type: 'step', step, steps: c.steps, loss, lr, k });
            }
            value.dispose();
          } finally {
            tf.dispose([inputs, targets]);
          }
          if (step % c.evalEvery === 0 || step === c.steps) await this.validate(step, p);
        },
        checkpoint: async (step) => {
          p = snapshot(step);
          await this.save(p);
        },
      },
    );
    p = snapshot(step);
    this.best.assignBack();
    const tests: MoeLmTestResult[] = [];
    for (const k of c.testK) {
      const r = await this.bitsPerChar('test', c.testSymbols, this.model.moe.length > 0 ? k : null);
      tests.push({ k, bpc: r.bpc, routerEntropy: r.routerEntropy ?? 0, usage: r.usage });
    }
    const atEval = tests.find((x) => x.k === c.evalK);
    return {
      router: this.model.config.router,
      bpc: Object.fromEntries(tests.map((x) => [String(x.k), x.bpc])),
      tests,
      routerEntropy: this.model.moe.length > 0 ? (atEval ?? tests[0]!).routerEntropy : null,
      valBpc: p.bestBpc,
      bestStep: p.bestStep,
      steps: step,
      seconds: p.seconds,
      curve: p.curve,
      evals: p.evals,
      params: this.model.paramCounts(c.evalK ?? undefined),
    };
  }

  private async validate(step: number, p: Progress): Promise<void> {
    const { bpc } = await this.bitsPerChar('valid', this.config.evalSymbols, this.config.evalK);
    const best = p.bestBpc < 0 || bpc < p.bestBpc;
    p.evals.push({ step, bpc });
    if (best) {
      p.bestBpc = bpc;
      p.bestStep = step;
      this.best.take();
    }
    await this.emit({ type: 'eval', step, bpc, best });
  }

  private async save(p: Progress): Promise<void> {
    const path = await this.checkpoint.save({
      step: p.step,
      progress: p,
      tensors: { ...this.model.variables, ...this.adam.slots(this.model.trainable, 'adam.'), ...this.best.tensors() },
      meta: { model: { ...this.model.config } },
    });
    await this.emit({ type: 'checkpoint', step: p.step, path });
  }

  private async restore(): Promise<Progress | null> {
    const p = await this.checkpoint.restore((ck, p) => {
      // The architecture must match; the init seed need not (every variable comes from the checkpoint).
      const shape = (c: unknown) => JSON.stringify({ ...(c as object), seed: undefined });
      const want = shape(this.model.config);
      const have = shape(ck.meta.model);
      if (want !== have) throw new CheckpointError(ck.paths.meta, `holds the model ${have}; this run's is ${want}`);
      if (p.step > this.config.steps)
        throw new CheckpointError(ck.paths.meta, `is at step ${p.step}, past this run's ${this.config.steps} steps`);
      this.best.restoreWith(p.bestBpc >= 0, (best) =>
        restoreVariables(ck, { ...this.model.variables, ...this.adam.slots(this.model.trainable, 'adam.'), ...best }),
      );
      this.adam.t = p.adam;
    });
    if (p) await this.emit({ type: 'resume', step: p.step, path: this.checkpoint.path! });
    return p;
  }

  /** Frees the optimiser state and the best snapshot (the model stays the caller's). */
  dispose(): void {
    this.adam.dispose();
    this.best.dispose();
  }
}
