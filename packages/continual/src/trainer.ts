import {
  CheckpointError,
  ConfigError,
  type RunOptions,
  type Trainer,
  type TrainerCallbacks,
  type TrainingOptions,
} from '@hypernets/core';
import {
  RunCheckpoint,
  boundedArray,
  eventEmitter,
  objectOption,
  parseTrainingOptions,
  runSteps,
  samplerStateSchema,
  trainingOptionsSchema,
} from '@hypernets/core/internal';
import { disposeBatch, type TaskStream } from '@hypernets/data';
import { z } from 'zod';
import { evaluateTask } from './evaluate.js';
import type { ContinualMethod } from './method.js';
import { averageAccuracy, backwardTransfer, forgetting, type AccuracyMatrix } from './metrics.js';

/** Progress events (delivered to `callbacks.onTaskBegin`, `onStep`, …, and `onEvent`). */
export type ContinualEvent =
  | { type: 'task-begin'; task: number; name: string; numTasks: number }
  | { type: 'step'; task: number; step: number; iterations: number; loss: number; reg: number | null }
  | { type: 'eval'; afterTask: number; task: number; accuracy: number; taskInference: number | null }
  | { type: 'task-end'; task: number; seconds: number; accuracies: (number | null)[] }
  | { type: 'checkpoint'; task: number; step: number; path: string }
  | { type: 'resume'; task: number; step: number; path: string };

const EVENT_TYPES: readonly ContinualEvent['type'][] = [
  'task-begin',
  'step',
  'eval',
  'task-end',
  'checkpoint',
  'resume',
];

export interface ContinualTrainerOptions extends TrainingOptions {
  /** The tasks, in order. */
  stream: TaskStream;
  /** What learns them (HNET, EWC, SI, fine-tuning, or your own ContinualMethod). */
  method: ContinualMethod;
  /** Training steps per task. */
  iterations: number;
  batchSize: number;
  /** Evaluation batch size. Default 1000. */
  evalBatchSize?: number;
  /** Read the loss back (for events and the learning curve) every this many steps. Default 50. */
  logEvery?: number;
  /** Checkpoint every this many steps (and always at the end of a task). Default: task ends only. */
  checkpointEvery?: number;
  callbacks?: TrainerCallbacks<ContinualEvent>;
}

const posInt = z.number().int().positive();
const optionsSchema = trainingOptionsSchema
  .extend({
    stream: objectOption<TaskStream>('a TaskStream'),
    method: objectOption<ContinualMethod>('a ContinualMethod'),
    iterations: posInt,
    batchSize: posInt,
    evalBatchSize: posInt.default(1000),
    logEvery: posInt.default(50),
  })
  .strict();

export interface CurvePoint {
  task: number;
  step: number;
  loss: number;
  reg: number | null;
}

export interface ContinualResult {
  accMatrix: AccuracyMatrix;
  /** With HNET+ENT: task-inference accuracy, same layout as accMatrix. */
  taskInferenceMatrix: AccuracyMatrix | null;
  avgAcc: number;
  backwardTransfer: number;
  forgetting: number;
  /** Training + evaluation wall time of each task (summed over resumed runs). */
  taskSeconds: number[];
  seconds: number;
  curve: CurvePoint[];
}

const accRow = boundedArray(z.number().nullable());
/** What a checkpoint holds of the run besides tensors: where it stands, and what it has measured. */
const progressSchema = z.object({
  /** `step` steps of `task` are done; `taskDone` once its evaluation is. */
  position: z.object({
    task: z.number().int().nonnegative(),
    step: z.number().int().nonnegative(),
    taskDone: z.boolean(),
  }),
  sampler: samplerStateSchema.nullable(),
  accMatrix: boundedArray(accRow),
  taskInference: boundedArray(accRow),
  taskSeconds: boundedArray(z.number().nonnegative()),
  curve: boundedArray(
    z.object({ task: z.number().int(), step: z.number().int(), loss: z.number(), reg: z.number().nullable() }),
  ),
  /** The method's own state (`ContinualMethod.state().meta`), and which method and stream wrote it. */
  method: z.record(z.string(), z.unknown()),
  methodName: z.string(),
  stream: z.string(),
});
type Progress = z.infer<typeof progressSchema>;

/** A batch seed per (run seed, task), so tasks do not share a batch order. */
export function taskSeed(seed: number, task: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (task + 1), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) & 0x7fffffff;
}

/**
 * Trains a ContinualMethod on a TaskStream task after task, evaluates every learned task
 * after each one (the accuracy matrix), emits events, checkpoints and resumes. A resumed run
 * continues from the last checkpoint's exact state (weights, optimiser, regulariser targets,
 * batch order, random streams), so it ends with the numbers an uninterrupted run would have,
 * on the same backend.
 */
export class ContinualTrainer implements Trainer<ContinualResult> {
  readonly stream: TaskStream;
  readonly method: ContinualMethod;
  /** The hyperparameters, defaults filled in. */
  readonly config: Omit<z.output<typeof optionsSchema>, 'stream' | 'method' | 'callbacks'>;
  private readonly emit: (e: ContinualEvent) => Promise<void>;
  private readonly checkpoint: RunCheckpoint<Progress>;

  constructor(options: ContinualTrainerOptions) {
    const { stream, method, callbacks, ...config } = parseTrainingOptions(optionsSchema, options);
    this.stream = stream;
    this.method = method;
    this.config = config;
    this.emit = eventEmitter(EVENT_TYPES, callbacks);
    if (method.layout.numTasks !== stream.numTasks)
      throw new ConfigError(
        'method',
        `was built for ${method.layout.numTasks} tasks, the stream ${stream.name} has ${stream.numTasks}`,
      );
    this.checkpoint = new RunCheckpoint({
      dir: config.checkpointDir,
      kind: 'continual',
      what: 'continual-learning',
      progress: progressSchema,
      fingerprint: config.fingerprint,
      hint: 'use another --out, or the same options',
    });
  }

  /** Runs (or, with `resume`, continues from the checkpoint in checkpointDir) to the end. */
  async run(options: RunOptions = {}): Promise<ContinualResult> {
    const T = this.stream.numTasks;
    const { iterations, batchSize, seed, logEvery, evalBatchSize } = this.config;
    let p: Progress = {
      position: { task: 0, step: 0, taskDone: false },
      sampler: null,
      accMatrix: [],
      taskInference: [],
      taskSeconds: [],
      curve: [],
      method: {},
      methodName: this.method.name,
      stream: this.stream.name,
    };
    let fresh = true;
    if (options.resume) {
      const restored = await this.restore();
      if (restored) {
        p = restored;
        fresh = false;
      }
    }
    let { task } = p.position;
    if (p.position.taskDone) task++;
    for (; task < T; task++) {
      const t0 = performance.now();
      const resumingThis = !fresh && !p.position.taskDone && p.position.task === task;
      const info = this.stream.task(task);
      await this.emit({ type: 'task-begin', task, name: info.name, numTasks: T });
      if (!resumingThis) this.method.beginTask(task);
      const sampler = info.train.sampler(batchSize, resumingThis && p.sampler ? p.sampler : taskSeed(seed, task));
      const prior = resumingThis ? (p.taskSeconds[task] ?? 0) : 0;
      await runSteps(
        {
          from: resumingThis ? p.position.step : 0,
          to: iterations,
          logEvery,
          checkpointEvery: this.config.checkpointEvery ?? null,
          checkpointLast: false, // a task's end is saved after its evaluation
        },
        {
          step: async (step, log) => {
            const b = sampler.next();
            const { loss, reg } = this.method.trainStep(b, task);
            disposeBatch(b);
            if (log) {
              const l = (await loss.data())[0]!;
              const r = reg ? (await reg.data())[0]! : null;
              p.curve.push({ task, step, loss: l, reg: r });
              await this.emit({ type: 'step', task, step, iterations, loss: l, reg: r });
            }
            loss.dispose();
            reg?.dispose();
          },
          checkpoint: async (step) => {
            p.position = { task, step, taskDone: false };
            p.sampler = sampler.getState();
            p.taskSeconds[task] = prior + (performance.now() - t0) / 1000;
            await this.save(p);
          },
        },
      );
      await this.method.endTask(task, info.train);
      const row: (number | null)[] = [];
      const inf: (number | null)[] = [];
      for (let j = 0; j < T; j++) {
        if (j > task) {
          row.push(null);
          inf.push(null);
          continue;
        }
        const ev = await evaluateTask(this.method, this.stream.task(j).test, j, task + 1, evalBatchSize);
        row.push(ev.accuracy);
        inf.push(ev.taskInference);
        await this.emit({
          type: 'eval',
          afterTask: task,
          task: j,
          accuracy: ev.accuracy,
          taskInference: ev.taskInference,
        });
      }
      p.accMatrix[task] = row;
      p.taskInference[task] = inf;
      p.taskSeconds[task] = prior + (performance.now() - t0) / 1000;
      await this.emit({ type: 'task-end', task, seconds: p.taskSeconds[task]!, accuracies: row });
      p.position = { task, step: iterations, taskDone: true };
      p.sampler = null;
      fresh = true;
      if (this.checkpoint.path) await this.save(p);
    }
    const anyInference = p.taskInference.some((r) => r.some((v) => v !== null));
    return {
      accMatrix: p.accMatrix,
      taskInferenceMatrix: anyInference ? p.taskInference : null,
      avgAcc: averageAccuracy(p.accMatrix),
      backwardTransfer: backwardTransfer(p.accMatrix),
      forgetting: forgetting(p.accMatrix),
      taskSeconds: p.taskSeconds,
      seconds: p.taskSeconds.reduce((a, b) => a + b, 0),
      curve: p.curve,
    };
  }

  private async save(p: Progress): Promise<void> {
    const st = this.method.state();
    const { task, step } = p.position;
    const path = await this.checkpoint.save({
      step: task * this.config.iterations + step,
      progress: { ...p, method: st.meta, methodName: this.method.name, stream: this.stream.name },
      tensors: st.tensors,
    });
    await this.emit({ type: 'checkpoint', task, step, path });
  }

  /** Loads the checkpoint (null when there is none yet), checks it belongs to this run, restores. */
  private async restore(): Promise<Progress | null> {
    const p = await this.checkpoint.restore((ck, c) => {
      if (c.methodName !== this.method.name || c.stream !== this.stream.name)
        throw new CheckpointError(
          ck.paths.meta,
          `was written by method ${c.methodName} on ${c.stream}; this run is ${this.method.name} on ${this.stream.name}`,
        );
      if (c.position.task >= this.stream.numTasks || c.position.step > this.config.iterations)
        throw new CheckpointError(
          ck.paths.meta,
          `stands at task ${c.position.task}, step ${c.position.step}: past this run's ${this.stream.numTasks} tasks of ${this.config.iterations} steps`,
        );
      this.method.restore({ tensors: ck.tensors, meta: c.method });
    });
    if (p)
      await this.emit({ type: 'resume', task: p.position.task, step: p.position.step, path: this.checkpoint.path! });
    return p;
  }
}
