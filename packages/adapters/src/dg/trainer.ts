import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  Adam,
  CheckpointError,
  ConfigError,
  Rng,
  TrainingError,
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
import type { DgAlgorithm } from './algorithm.js';

/**
 * Leave-one-environment-out training, DomainBed's protocol (`scripts/train.py`,
 * `model_selection.py`), on image environments (e.g. @hypernets/data's RotatedMNIST and
 * ColoredMNIST):
 * - each environment's images are split into `in` (training) and `out` (validation) by the
 *   caller (DomainBed: a seeded 20% holdout per environment);
 * - each step draws `batchSize` images uniformly with replacement from the `in` split of every
 *   training environment (its InfiniteDataLoader) and takes one Adam step on the algorithm's loss
 *   over their concatenation;
 * - every `evalEvery` steps (and at the end), training-domain validation: the mean accuracy over
 *   the training environments' `out` splits; the variables of the best one are kept, and the
 *   test environment's `in` split accuracy at that step is the result (DomainBed's
 *   IIDAccuracySelectionMethod reports env{test}_in_acc of the selected checkpoint).
 * Checkpoints hold the variables, Adam's state, the best snapshot and the progress.
 */

export const DG_EVENT_TYPES = ['step', 'eval', 'checkpoint', 'resume'] as const;

export type DgTrainEvent =
  | { type: 'step'; step: number; steps: number; loss: number }
  | { type: 'eval'; step: number; valAcc: number; perEnv: number[]; best: boolean }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'resume'; step: number; path: string };

/** One environment: images NHWC [count, H, W, C] flat, labels, and the caller's in/out split. */
export interface DgEnvironment {
  readonly name: string;
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly in: Int32Array;
  readonly out: Int32Array;
}

export interface DgTrainerOptions {
  algorithm: DgAlgorithm;
  environments: readonly DgEnvironment[];
  /** [H, W, C] of one image. */
  inputShape: readonly [number, number, number];
  /** The held-out environment's index. */
  testEnv: number;
  steps: number;
  /** Images per training environment per step. Default 64 (DomainBed's). */
  batchSize?: number;
  /** Default 1e-3 (DomainBed's for MNIST). */
  lr?: number;
  /** Adam's L2 weight decay. Default 0. */
  weightDecay?: number;
  /** Validate every this many steps (DomainBed's checkpoint_freq, 100) and at the end. */
  evalEvery?: number;
  /** Images per evaluation forward. Default 256. */
  evalBatch?: number;
  seed?: number;
  logEvery?: number;
  checkpointDir?: string;
  checkpointEvery?: number;
  fingerprint?: unknown;
  callbacks?: TrainerCallbacks<DgTrainEvent>;
}

export interface DgTrainResult {
  algorithm: string;
  testEnv: number;
  /** Accuracy on the test environment's `in` split with the variables of the best validation step. */
  testAcc: number;
  /** Training-domain validation accuracy (mean over training environments' `out` splits) at that step. */
  valAcc: number;
  bestStep: number;
  steps: number;
  seconds: number;
  curve: { step: number; loss: number }[];
  /** Every validation: its step, mean and per-environment accuracy, and (mixtures) the mean gate per training environment. */
  evals: { step: number; valAcc: number; perEnv: number[]; gates?: number[][] }[];
  /** Mean gate weight per expert on each environment's `out` split (the test env's `in`), at the best step: mixtures only. */
  gateUsage: number[][] | null;
}

const progressSchema = z.object({
  step: z.number().int().nonnegative(),
  rng: rngStateSchema,
  seconds: z.number().nonnegative(),
  adam: z.number().int().nonnegative(),
  bestStep: z.number().int().nonnegative(),
  bestVal: z.number(),
  curve: boundedArray(z.object({ step: z.number().int(), loss: z.number() })),
  evals: boundedArray(
    z.object({
      step: z.number().int(),
      valAcc: z.number(),
      perEnv: boundedArray(z.number()),
      gates: boundedArray(boundedArray(z.number())).optional(),
    }),
  ),
});
type Progress = z.infer<typeof progressSchema>;

const optionsSchema = trainingOptionsSchema
  .extend({
    algorithm: objectOption<DgAlgorithm>('a DgAlgorithm'),
    environments: z
      .array(objectOption<DgEnvironment>('an environment { name, images, labels, in, out }'))
      .min(2)
      .max(64),
    inputShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
    testEnv: z.number().int().nonnegative(),
    steps: z.number().int().positive(),
    batchSize: z.number().int().positive().default(64),
    lr: z.number().positive().default(1e-3),
    weightDecay: z.number().nonnegative().default(0),
    evalEvery: z.number().int().positive().default(100),
    evalBatch: z.number().int().positive().default(256),
    logEvery: z.number().int().positive().default(10),
  })
  .strict();

export class DgTrainer implements Trainer<DgTrainResult> {
  readonly algorithm: DgAlgorithm;
  readonly config: Omit<z.output<typeof optionsSchema>, 'algorithm' | 'environments' | 'callbacks' | 'fingerprint'>;
  private readonly envs: readonly DgEnvironment[];
  private readonly pixels: number;
  private readonly vars: tf.Variable[];
  private readonly adam: Adam;
  private readonly emit: (e: DgTrainEvent) => Promise<void>;
  private readonly checkpoint: RunCheckpoint<Progress>;
  private readonly best: BestSnapshot;

  constructor(options: DgTrainerOptions) {
    const o = parseTrainingOptions(optionsSchema, options);
    const { algorithm, environments, callbacks, fingerprint, ...config } = o;
    if (o.testEnv >= environments.length)
      throw new ConfigError(
        'testEnv',
        `must name one of the ${environments.length} environments (0 … ${environments.length - 1})`,
      );
    this.pixels = o.inputShape[0] * o.inputShape[1] * o.inputShape[2];
    environments.forEach((e, i) => {
      const n = e.labels.length;
      if (!(e.images instanceof Float32Array) || e.images.length !== n * this.pixels)
        throw new ConfigError(`environments[${i}].images`, `must be a Float32Array of ${n} × ${this.pixels} values`);
      for (const part of ['in', 'out'] as const) {
        const idx = e[part];
        if (!(idx instanceof Int32Array) || idx.length === 0 || idx.some((j) => !(j >= 0 && j < n)))
          throw new ConfigError(`environments[${i}].${part}`, `must be a non-empty Int32Array of indices in [0, ${n})`);
      }
    });
    this.algorithm = algorithm;
    this.best = new BestSnapshot(() => algorithm.variables);
    this.envs = environments;
    this.config = config;
    this.vars = algorithm.trainable.map((n) => algorithm.variables[n]!);
    this.adam = new Adam(this.vars, { lr: o.lr, weightDecay: o.weightDecay });
    this.emit = eventEmitter(DG_EVENT_TYPES, (callbacks ?? {}) as TrainerCallbacks<DgTrainEvent>);
    this.checkpoint = new RunCheckpoint({
      dir: o.checkpointDir,
      kind: 'dgTrainer',
      what: 'domain-generalisation training',
      progress: progressSchema,
      fingerprint: fingerprint ?? null,
      hint: 'use another output directory, or the options it was started with',
    });
  }

  private get trainEnvs(): number[] {
    return this.envs.map((_, i) => i).filter((i) => i !== this.config.testEnv);
  }

  /** Images and labels of `rows` of environment `env` as tensors. */
  private gather(env: DgEnvironment, rows: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor1D } {
    const p = this.pixels;
    const xs = new Float32Array(rows.length * p);
    const ys = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      xs.set(env.images.subarray(r * p, (r + 1) * p), i * p);
      ys[i] = env.labels[r]!;
    }
    const [h, w, c] = this.config.inputShape;
    return { x: tf.tensor4d(xs, [rows.length, h, w, c]), y: tf.tensor1d(ys, 'int32') };
  }

  /** Accuracy on a split of one environment (and, for a mixture, its mean gate weights). */
  async accuracy(env: number, split: 'in' | 'out'): Promise<{ acc: number; gate: number[] | null }> {
    const e = this.envs[env]!;
    const idx = e[split];
    let correct = 0;
    let gateSum: Float64Array | null = null;
    for (let i = 0; i < idx.length; i += this.config.evalBatch) {
      const rows = idx.subarray(i, Math.min(idx.length, i + this.config.evalBatch));
      const { x, y } = this.gather(e, rows);
      const [hits, gate] = tf.tidy(() => {
        const a = this.algorithm;
        const out = a.predictWithGate
          ? a.predictWithGate(x)
          : { logits: a.predict(x), gate: a.gate ? a.gate(x) : null };
        const h = tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, 1), y), 'int32'));
        return [h, out.gate ? tf.sum(out.gate, 0) : null] as const;
      });
      correct += (await hits.data())[0]!;
      if (gate) {
        const g = await gate.data();
        gateSum ??= new Float64Array(g.length);
        for (let j = 0; j < g.length; j++) gateSum[j]! += g[j]!;
      }
      tf.dispose([x, y, hits, ...(gate ? [gate] : [])]);
    }
    return { acc: correct / idx.length, gate: gateSum ? Array.from(gateSum, (v) => v / idx.length) : null };
  }

  async run(options: RunOptions = {}): Promise<DgTrainResult> {
    const c = this.config;
    let p: Progress = {
      step: 0,
      rng: new Rng(c.seed).getState(),
      seconds: 0,
      adam: 0,
      bestStep: 0,
      bestVal: -1,
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
    const train = this.trainEnvs;
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
          const parts = train.map((i) => {
            const e = this.envs[i]!;
            const rows = Int32Array.from({ length: c.batchSize }, () => e.in[rng.int(0, e.in.length - 1)]!);
            return this.gather(e, rows);
          });
          const x = tf.concat(parts.map((b) => b.x)) as tf.Tensor4D;
          const y = tf.concat(parts.map((b) => b.y)) as tf.Tensor1D;
          tf.dispose(parts.flatMap((b) => [b.x, b.y]));
          const { value, grads } = tf.variableGrads(() => this.algorithm.loss(x, y), this.vars);
          this.adam.step(this.vars.map((v) => grads[v.name] ?? null));
          tf.dispose([x, y, ...Object.values(grads)]);
          if (log) {
            const loss = (await value.data())[0]!;
            if (!Number.isFinite(loss))
              throw new TrainingError(`the loss at step ${step} is ${loss}; lower the learning rate`);
            p.curve.push({ step, loss });
            await this.emit({ type: 'step', step, steps: c.steps, loss });
          }
          value.dispose();
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
    const test = await this.accuracy(c.testEnv, 'in');
    let gateUsage: number[][] | null = null;
    if (test.gate) {
      // The training environments' usage was measured by the best step's validation pass.
      const gates = p.evals.find((e) => e.step === p.bestStep)?.gates;
      gateUsage = [];
      for (let i = 0, j = 0; i < this.envs.length; i++)
        gateUsage.push(i === c.testEnv ? test.gate : (gates?.[j++] ?? (await this.accuracy(i, 'out')).gate!));
    }
    return {
      algorithm: this.algorithm.name,
      testEnv: c.testEnv,
      testAcc: test.acc,
      valAcc: p.bestVal,
      bestStep: p.bestStep,
      steps: step,
      seconds: p.seconds,
      curve: p.curve,
      evals: p.evals,
      gateUsage,
    };
  }

  private async validate(step: number, p: Progress): Promise<void> {
    const perEnv: number[] = [];
    const gates: number[][] = [];
    for (const i of this.trainEnvs) {
      const r = await this.accuracy(i, 'out');
      perEnv.push(r.acc);
      if (r.gate) gates.push(r.gate);
    }
    const valAcc = perEnv.reduce((a, b) => a + b, 0) / perEnv.length;
    const best = valAcc > p.bestVal;
    p.evals.push({ step, valAcc, perEnv, ...(gates.length > 0 ? { gates } : {}) });
    if (best) {
      p.bestVal = valAcc;
      p.bestStep = step;
      this.best.take();
    }
    await this.emit({ type: 'eval', step, valAcc, perEnv, best });
  }

  private async save(p: Progress): Promise<void> {
    const path = await this.checkpoint.save({
      step: p.step,
      progress: p,
      tensors: {
        ...this.algorithm.variables,
        ...this.adam.slots([...this.algorithm.trainable], 'adam.'),
        ...this.best.tensors(),
      },
      meta: { algorithm: this.algorithm.name, testEnv: this.config.testEnv },
    });
    await this.emit({ type: 'checkpoint', step: p.step, path });
  }

  private async restore(): Promise<Progress | null> {
    const p = await this.checkpoint.restore((ck, p) => {
      const want = JSON.stringify({ algorithm: this.algorithm.name, testEnv: this.config.testEnv });
      const have = JSON.stringify({ algorithm: ck.meta.algorithm, testEnv: ck.meta.testEnv });
      if (want !== have) throw new CheckpointError(ck.paths.meta, `holds the run ${have}; this run is ${want}`);
      if (p.step > this.config.steps)
        throw new CheckpointError(ck.paths.meta, `is at step ${p.step}, past this run's ${this.config.steps} steps`);
      this.best.restoreWith(p.bestVal >= 0, (best) =>
        restoreVariables(ck, {
          ...this.algorithm.variables,
          ...this.adam.slots([...this.algorithm.trainable], 'adam.'),
          ...best,
        }),
      );
      this.adam.t = p.adam;
    });
    if (p) await this.emit({ type: 'resume', step: p.step, path: this.checkpoint.path! });
    return p;
  }

  dispose(): void {
    this.adam.dispose();
    this.best.dispose();
  }
}
