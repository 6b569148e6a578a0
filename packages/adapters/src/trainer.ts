import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  Adam,
  CheckpointError,
  ConfigError,
  Rng,
  TrainingError,
  restoreVariables,
  softmaxCrossEntropy,
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
import type { MethodForward } from './methods/method.js';
import type { AdapterModel, ParamCounts } from './model.js';
import type { TokenizedSplit, TokenizedTask } from './tasks.js';

/**
 * Multi-task training of a method over several text tasks, HyperFormer's protocol:
 * - each step draws one task with p_τ ∝ N_τ^{1/T} (temperature T = 10) and a batch of that task's
 *   training examples uniformly with replacement (its MultiTaskBatchSampler);
 * - cross-entropy with label smoothing 0.1 through a per-task linear head on the pooled
 *   sentence embedding (pairs: [u; v; |u − v|; u ⊙ v]);
 * - Adam (lr 3e-4) with linear warm-up then linear decay to 0 (transformers' default schedule);
 *   shared variables and each task's own (adapters, head) have their own Adam, so a task's
 *   moments step only when it is sampled, as torch counts steps per parameter;
 * - validation accuracy of every task every `evalEvery` steps; the variables at the best average
 *   validation accuracy are kept and tested at the end (`load_best_model_at_end`);
 * - a method with an auxiliary loss (PHA's contrastive terms) gets, each step, the frozen
 *   embeddings of `perTask` examples drawn from every task's training split (computed once per
 *   example and cached), its loss added to the batch's.
 * Checkpoints hold every variable, every Adam state, the best snapshot and the progress; a
 * resumed run ends with the numbers of one that never stopped (same backend).
 */

export const ADAPTER_EVENT_TYPES = ['step', 'eval', 'checkpoint', 'resume'] as const;

export type AdapterTrainEvent =
  | { type: 'step'; step: number; steps: number; task: string; loss: number; lr: number }
  | { type: 'eval'; step: number; val: Record<string, number>; average: number; best: boolean }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'resume'; step: number; path: string };

export interface AdapterTrainerOptions {
  /** What trains: its method's variables and its heads. */
  model: AdapterModel;
  /** The model's tasks' data, in the model's task order (names must match). */
  tasks: readonly TokenizedTask[];
  steps: number;
  /** Examples per step (pairs: pairs per step). Default 32. */
  batchSize?: number;
  /** Peak learning rate. Default 3e-4. */
  lr?: number;
  /** Linear warm-up steps. Default 6% of `steps`. */
  warmupSteps?: number;
  /** Task sampling temperature T (p ∝ N^{1/T}). Default 10. */
  temperature?: number;
  labelSmoothing?: number;
  /** Validate every this many steps (and at the end). Default steps / 10. */
  evalEvery?: number;
  /** Examples per forward pass when evaluating. Default 64. */
  evalBatch?: number;
  seed?: number;
  logEvery?: number;
  checkpointDir?: string;
  checkpointEvery?: number;
  fingerprint?: unknown;
  /** Names of the variables to train (of `model.variables()`); default all. The others stay as they are. */
  trainOnly?: readonly string[];
  callbacks?: TrainerCallbacks<AdapterTrainEvent>;
}

export interface AdapterTrainResult {
  method: string;
  tasks: string[];
  /** Test accuracy per task, with the variables of the best validation step. */
  acc: Record<string, number>;
  avgAcc: number;
  /** Validation accuracy per task at the best step. */
  val: Record<string, number>;
  bestStep: number;
  steps: number;
  seconds: number;
  curve: { step: number; task: string; loss: number }[];
  evals: { step: number; average: number }[];
  params: ParamCounts;
}

const progressSchema = z.object({
  step: z.number().int().nonnegative(),
  rng: rngStateSchema,
  seconds: z.number().nonnegative(),
  sharedAdam: z.number().int().nonnegative(),
  taskAdam: boundedArray(z.number().int().nonnegative()),
  bestStep: z.number().int().nonnegative(),
  bestAverage: z.number(),
  bestVal: z.record(z.string(), z.number()),
  curve: boundedArray(z.object({ step: z.number().int(), task: z.string(), loss: z.number() })),
  evals: boundedArray(z.object({ step: z.number().int(), average: z.number() })),
});
type Progress = z.infer<typeof progressSchema>;

const optionsSchema = trainingOptionsSchema
  .extend({
    model: objectOption<AdapterModel>('an AdapterModel'),
    tasks: z.array(objectOption<TokenizedTask>('a TokenizedTask')).min(1),
    steps: z.number().int().positive(),
    batchSize: z.number().int().positive().default(32),
    lr: z.number().positive().default(3e-4),
    warmupSteps: z.number().int().nonnegative().optional(),
    temperature: z.number().positive().default(10),
    labelSmoothing: z.number().min(0).lt(1).default(0.1),
    evalEvery: z.number().int().positive().optional(),
    evalBatch: z.number().int().positive().default(64),
    logEvery: z.number().int().positive().default(10),
    trainOnly: z.array(z.string()).max(100_000).optional(),
  })
  .strict();

/** The options as the trainer runs them: defaults filled in. */
export type ResolvedAdapterTrainerOptions = Required<
  Pick<
    AdapterTrainerOptions,
    | 'steps'
    | 'batchSize'
    | 'lr'
    | 'warmupSteps'
    | 'temperature'
    | 'labelSmoothing'
    | 'evalEvery'
    | 'evalBatch'
    | 'seed'
    | 'logEvery'
  >
> &
  Pick<AdapterTrainerOptions, 'checkpointDir' | 'checkpointEvery'>;

export class AdapterTrainer implements Trainer<AdapterTrainResult> {
  readonly config: ResolvedAdapterTrainerOptions;
  readonly model: AdapterModel;
  private readonly tasks: readonly TokenizedTask[];
  private readonly sharedNames: string[];
  /** The shared variables that train, in `sharedNames` order (looked up once, not every step). */
  private readonly sharedVars: tf.Variable[];
  private readonly taskNames: string[][];
  private readonly sharedAdam: Adam | null;
  private readonly taskAdams: Adam[];
  private readonly probs: number[];
  private readonly emit: (e: AdapterTrainEvent) => Promise<void>;
  private readonly checkpoint: RunCheckpoint<Progress>;
  /** Variables at the best validation step (the same names as `model.variables()`). */
  private readonly best: BestSnapshot;
  /** Frozen embeddings of training examples, by `${task}:${row}` (the auxiliary loss's input). */
  private readonly frozen = new Map<string, Float32Array>();

  constructor(options: AdapterTrainerOptions) {
    const o = parseTrainingOptions(optionsSchema, options);
    const names = o.tasks.map((t) => t.name);
    const modelNames = o.model.tasks.map((t) => t.name);
    if (names.join('\n') !== modelNames.join('\n'))
      throw new ConfigError(
        'tasks',
        `the data's tasks (${names.join(', ')}) must be the model's, in its order (${modelNames.join(', ')})`,
      );
    this.config = {
      steps: o.steps,
      batchSize: o.batchSize,
      lr: o.lr,
      warmupSteps: o.warmupSteps ?? Math.ceil(0.06 * o.steps),
      temperature: o.temperature,
      labelSmoothing: o.labelSmoothing,
      evalEvery: o.evalEvery ?? Math.max(1, Math.ceil(o.steps / 10)),
      evalBatch: o.evalBatch,
      seed: o.seed,
      logEvery: o.logEvery,
      checkpointDir: o.checkpointDir,
      checkpointEvery: o.checkpointEvery,
    };
    if (this.config.warmupSteps >= o.steps) throw new ConfigError('warmupSteps', `must be below steps (${o.steps})`);
    this.model = o.model;
    this.best = new BestSnapshot(() => o.model.variables());
    this.tasks = o.tasks;
    const all = o.model.variables();
    const keep = o.trainOnly ? new Set(o.trainOnly) : null;
    for (const n of o.trainOnly ?? [])
      if (!(n in all))
        throw new ConfigError(
          'trainOnly',
          `names no variable of the model: ${JSON.stringify(n)} (see model.variables())`,
        );
    const train = (names: string[]) => (keep ? names.filter((n) => keep.has(n)) : names);
    this.sharedNames = train(Object.keys(o.model.sharedVariables()));
    this.taskNames = o.tasks.map((_, i) => train(Object.keys(o.model.taskVariables(i))));
    this.sharedVars = this.sharedNames.map((n) => all[n]!);
    this.sharedAdam = this.sharedVars.length > 0 ? new Adam(this.sharedVars, { lr: o.lr }) : null;
    this.taskAdams = o.tasks.map((_, i) => new Adam(this.taskVars(i), { lr: o.lr }));
    const sizes = o.tasks.map((t) => t.train.labels.length);
    const total = sizes.reduce((a, b) => a + b, 0);
    const w = sizes.map((n) => (n / total) ** (1 / o.temperature));
    const z = w.reduce((a, b) => a + b, 0);
    this.probs = w.map((x) => x / z);
    this.emit = eventEmitter(ADAPTER_EVENT_TYPES, (o.callbacks ?? {}) as TrainerCallbacks<AdapterTrainEvent>);
    this.checkpoint = new RunCheckpoint({
      dir: o.checkpointDir,
      kind: 'adapterTrainer',
      what: 'adapter training',
      progress: progressSchema,
      fingerprint: o.fingerprint ?? null,
      hint: 'use another output directory, or the options it was started with',
    });
  }

  /** Task sampling probabilities p_τ ∝ N_τ^{1/T}, in task order. */
  get taskProbabilities(): readonly number[] {
    return this.probs;
  }

  private taskVars(t: number): tf.Variable[] {
    const own = this.model.taskVariables(t);
    return this.taskNames[t]!.map((n) => own[n]!);
  }

  private lrAt(step: number): number {
    const { lr, warmupSteps: w, steps } = this.config;
    if (step <= w) return (lr * step) / Math.max(1, w);
    return (lr * Math.max(0, steps - step)) / Math.max(1, steps - w);
  }

  /** Logits of task t for the examples `rows` of a split, with the method's forward `fwd`. */
  private logits(t: number, split: TokenizedSplit, rows: readonly number[], fwd?: MethodForward): tf.Tensor2D {
    const pair = split.pair;
    return this.model.logits(
      t,
      rows.map((i) => split.ids[i]!),
      pair ? rows.map((i) => pair[i]!) : undefined,
      fwd,
    );
  }

  /**
   * Accuracy of task t on a split (see AdapterModel.accuracy). `forward` builds what the batches
   * run with (default the method's for task t).
   */
  async accuracy(t: number, which: 'val' | 'test', forward?: () => MethodForward): Promise<number> {
    return this.model.accuracy(t, this.tasks[t]![which], forward, this.config.evalBatch);
  }

  async run(options: RunOptions = {}): Promise<AdapterTrainResult> {
    const c = this.config;
    let p: Progress = {
      step: 0,
      rng: new Rng(c.seed).getState(),
      seconds: 0,
      sharedAdam: 0,
      taskAdam: this.tasks.map(() => 0),
      bestStep: 0,
      bestAverage: -1,
      bestVal: {},
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
      sharedAdam: this.sharedAdam?.t ?? 0,
      taskAdam: this.taskAdams.map((a) => a.t),
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
          const t = this.sampleTask(rng);
          const task = this.tasks[t]!;
          const n = task.train.labels.length;
          const rows = Array.from({ length: c.batchSize }, () => rng.int(0, n - 1));
          const lr = this.lrAt(step);
          const vars = [...this.sharedVars, ...this.taskVars(t)];
          const aux = this.model.method.auxiliary;
          const contrast = aux && this.tasks.length > 1 ? await this.contrastBatch(aux.perTask, rng) : null;
          const { value, grads } = tf.variableGrads(() => {
            const logits = this.logits(t, task.train, rows);
            const k = task.labels.length;
            const onehot = tf.oneHot(
              tf.tensor1d(
                rows.map((r) => task.train.labels[r]!),
                'int32',
              ),
              k,
            );
            const targets = tf.add(tf.mul(onehot, 1 - c.labelSmoothing), c.labelSmoothing / k);
            const ce = softmaxCrossEntropy(logits, targets);
            return contrast ? tf.add(ce, aux!.loss(contrast.features, contrast.tasks)) : ce;
          }, vars);
          contrast?.features.dispose();
          const byName = (v: tf.Variable) => grads[v.name] ?? null;
          if (this.sharedAdam) this.sharedAdam.step(this.sharedVars.map(byName), lr);
          this.taskAdams[t]!.step(this.taskVars(t).map(byName), lr);
          tf.dispose(Object.values(grads));
          if (log) {
            const loss = (await value.data())[0]!;
            if (!Number.isFinite(loss))
              throw new TrainingError(
                `the loss of task ${task.name} at step ${step} is ${loss}; lower the learning rate`,
              );
            p.curve.push({ step, task: task.name, loss });
            await this.emit({ type: 'step', step, steps: c.steps, task: task.name, loss, lr });
          }
          value.dispose();
          if (step % c.evalEvery === 0 || step === c.steps) await this.evaluate(step, p);
        },
        checkpoint: async (step) => {
          p = snapshot(step);
          await this.save(p);
        },
      },
    );
    p = snapshot(step);
    // Test with the best validation step's variables.
    this.best.assignBack();
    const acc: Record<string, number> = {};
    for (let t = 0; t < this.tasks.length; t++) acc[this.tasks[t]!.name] = await this.accuracy(t, 'test');
    const names = this.tasks.map((x) => x.name);
    return {
      method: this.model.method.name,
      tasks: names,
      acc,
      avgAcc: names.reduce((a, n) => a + acc[n]!, 0) / names.length,
      val: p.bestVal,
      bestStep: p.bestStep,
      steps: step,
      seconds: p.seconds,
      curve: p.curve,
      evals: p.evals,
      params: this.model.paramCounts(),
    };
  }

  /**
   * `perTask` training examples of every task (uniform with replacement) and their frozen
   * embeddings, for the method's auxiliary loss. Each example's embedding is computed once.
   */
  private async contrastBatch(perTask: number, rng: Rng): Promise<{ features: tf.Tensor2D; tasks: number[] }> {
    const tasks: number[] = [];
    const keys: string[] = [];
    const missing = new Map<number, number[]>();
    this.tasks.forEach((task, t) => {
      for (let i = 0; i < perTask; i++) {
        const row = rng.int(0, task.train.labels.length - 1);
        const key = `${t}:${row}`;
        tasks.push(t);
        keys.push(key);
        if (!this.frozen.has(key)) missing.set(t, [...(missing.get(t) ?? []), row]);
      }
    });
    for (const [t, rows] of missing) {
      const unique = [...new Set(rows)];
      const split = this.tasks[t]!.train;
      const pair = split.pair;
      const emb = this.model.frozenEmbeddings(
        t,
        unique.map((r) => split.ids[r]!),
        pair ? unique.map((r) => pair[r]!) : undefined,
      );
      const data = (await emb.data()) as Float32Array;
      const d = emb.shape[1];
      emb.dispose();
      unique.forEach((r, i) => this.frozen.set(`${t}:${r}`, data.slice(i * d, (i + 1) * d)));
    }
    const d = this.frozen.get(keys[0]!)!.length;
    const flat = new Float32Array(keys.length * d);
    keys.forEach((k, i) => flat.set(this.frozen.get(k)!, i * d));
    return { features: tf.tensor2d(flat, [keys.length, d]), tasks };
  }

  private sampleTask(rng: Rng): number {
    const u = rng.uniform();
    let acc = 0;
    for (let t = 0; t < this.probs.length; t++) {
      acc += this.probs[t]!;
      if (u < acc) return t;
    }
    return this.probs.length - 1;
  }

  private async evaluate(step: number, p: Progress): Promise<void> {
    const val: Record<string, number> = {};
    for (let t = 0; t < this.tasks.length; t++) val[this.tasks[t]!.name] = await this.accuracy(t, 'val');
    const average = Object.values(val).reduce((a, b) => a + b, 0) / this.tasks.length;
    const best = average > p.bestAverage;
    p.evals.push({ step, average });
    if (best) {
      p.bestAverage = average;
      p.bestStep = step;
      p.bestVal = val;
      this.best.take();
    }
    await this.emit({ type: 'eval', step, val, average, best });
  }

  private adamSlots(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    if (this.sharedAdam) Object.assign(out, this.sharedAdam.slots(this.sharedNames, 'adam.shared.'));
    this.taskAdams.forEach((a, t) => Object.assign(out, a.slots(this.taskNames[t]!, `adam.task${t}.`)));
    return out;
  }

  private async save(p: Progress): Promise<void> {
    const path = await this.checkpoint.save({
      step: p.step,
      progress: p,
      tensors: { ...this.model.variables(), ...this.adamSlots(), ...this.best.tensors() },
      meta: { method: this.model.method.name, tasks: this.tasks.map((t) => t.name) },
    });
    await this.emit({ type: 'checkpoint', step: p.step, path });
  }

  private async restore(): Promise<Progress | null> {
    const p = await this.checkpoint.restore((ck, p) => {
      const want = JSON.stringify({ method: this.model.method.name, tasks: this.tasks.map((t) => t.name) });
      const have = JSON.stringify({ method: ck.meta.method, tasks: ck.meta.tasks });
      if (want !== have) throw new CheckpointError(ck.paths.meta, `holds the run ${have}; this run is ${want}`);
      if (p.step > this.config.steps)
        throw new CheckpointError(ck.paths.meta, `is at step ${p.step}, past this run's ${this.config.steps} steps`);
      if (p.taskAdam.length !== this.tasks.length)
        throw new CheckpointError(
          ck.paths.meta,
          `has Adam steps for ${p.taskAdam.length} tasks, not ${this.tasks.length}`,
        );
      // A snapshot of the best step is restored into stand-in variables, then kept as the snapshot.
      this.best.restoreWith(p.bestAverage >= 0, (best) =>
        restoreVariables(ck, { ...this.model.variables(), ...this.adamSlots(), ...best }),
      );
      if (this.sharedAdam) this.sharedAdam.t = p.sharedAdam;
      this.taskAdams.forEach((a, t) => (a.t = p.taskAdam[t]!));
    });
    if (p) await this.emit({ type: 'resume', step: p.step, path: this.checkpoint.path! });
    return p;
  }

  /** Frees the optimiser state and the best snapshot (the model stays the caller's). */
  dispose(): void {
    this.sharedAdam?.dispose();
    for (const a of this.taskAdams) a.dispose();
    this.best.dispose();
  }
}
