import {
  CheckpointError,
  ConfigError,
  assertSameRunConfig,
  checkPositiveInt,
  loadCheckpointIfAny,
  saveCheckpoint,
} from '@hypernets/core';
import { disposeBatch, type SamplerState, type TaskStream } from '@hypernets/data';
import { evaluateTask } from './evaluate.js';
import type { ContinualMethod } from './method.js';
import { averageAccuracy, backwardTransfer, forgetting, type AccuracyMatrix } from './metrics.js';

export interface ContinualTrainerConfig {
  /** Training steps per task. */
  iterations: number;
  batchSize: number;
  /** Seeds the per-task batch order. */
  seed: number;
  /** Evaluation batch size. Default 1000. */
  evalBatchSize?: number;
  /** Read the loss back (for events and learning curves) every this many steps. Default 50. */
  logEvery?: number;
  /** Directory for checkpoints (`checkpoint.safetensors` + `checkpoint.json`). None: no checkpoints. */
  checkpointDir?: string;
  /** Checkpoint every this many steps (and always at the end of a task). Default: task ends only. */
  checkpointEvery?: number;
  /**
   * Anything that must match for a checkpoint to be resumed (the run's configuration); stored in
   * the checkpoint and compared on resume.
   */
  fingerprint?: unknown;
}

/** Progress events, in the spirit of tfjs callbacks. */
export type ContinualEvent =
  | { type: 'task-begin'; task: number; name: string; numTasks: number }
  | { type: 'step'; task: number; step: number; iterations: number; loss: number; reg: number | null }
  | { type: 'eval'; afterTask: number; task: number; accuracy: number; taskInference: number | null }
  | { type: 'task-end'; task: number; seconds: number; accuracies: (number | null)[] }
  | { type: 'checkpoint'; task: number; step: number; path: string }
  | { type: 'resume'; task: number; step: number; path: string };

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

/** Where a run stands: `step` steps of `task` are done; `taskDone` once its evaluation is. */
interface Position {
  task: number;
  step: number;
  taskDone: boolean;
}

interface Progress {
  position: Position;
  sampler: SamplerState | null;
  accMatrix: AccuracyMatrix;
  taskInference: AccuracyMatrix;
  taskSeconds: number[];
  curve: CurvePoint[];
}

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
export class ContinualTrainer {
  readonly iterations: number;
  readonly batchSize: number;
  private readonly evalBatchSize: number;
  private readonly logEvery: number;
  private readonly checkpointEvery: number | null;

  constructor(
    readonly stream: TaskStream,
    readonly method: ContinualMethod,
    readonly config: ContinualTrainerConfig,
    private readonly onEvent: (e: ContinualEvent) => void = () => {},
  ) {
    this.iterations = checkPositiveInt('iterations', config.iterations);
    this.batchSize = checkPositiveInt('batchSize', config.batchSize);
    this.evalBatchSize = checkPositiveInt('evalBatchSize', config.evalBatchSize ?? 1000);
    this.logEvery = checkPositiveInt('logEvery', config.logEvery ?? 50);
    this.checkpointEvery =
      config.checkpointEvery === undefined ? null : checkPositiveInt('checkpointEvery', config.checkpointEvery);
    if (this.checkpointEvery !== null && !config.checkpointDir)
      throw new ConfigError('checkpointEvery', 'needs checkpointDir');
    if (method.layout.numTasks !== stream.numTasks)
      throw new ConfigError(
        'method',
        `was built for ${method.layout.numTasks} tasks, the stream ${stream.name} has ${stream.numTasks}`,
      );
  }

  private get checkpointPath(): string | null {
    return this.config.checkpointDir ? `${this.config.checkpointDir.replace(/\/+$/, '')}/checkpoint` : null;
  }

  /** Runs (or, with `resume`, continues from the checkpoint in checkpointDir) to the end. */
  async run(options: { resume?: boolean } = {}): Promise<ContinualResult> {
    const T = this.stream.numTasks;
    let p: Progress = {
      position: { task: 0, step: 0, taskDone: false },
      sampler: null,
      accMatrix: [],
      taskInference: [],
      taskSeconds: [],
      curve: [],
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
      this.onEvent({ type: 'task-begin', task, name: info.name, numTasks: T });
      if (!resumingThis) this.method.beginTask(task);
      const sampler = info.train.sampler(
        this.batchSize,
        resumingThis && p.sampler ? p.sampler : taskSeed(this.config.seed, task),
      );
      let step = resumingThis ? p.position.step : 0;
      const prior = resumingThis ? (p.taskSeconds[task] ?? 0) : 0;
      while (step < this.iterations) {
        const b = sampler.next();
        const { loss, reg } = this.method.trainStep(b, task);
        disposeBatch(b);
        step++;
        if (step % this.logEvery === 0 || step === this.iterations) {
          const l = (await loss.data())[0]!;
          const r = reg ? (await reg.data())[0]! : null;
          p.curve.push({ task, step, loss: l, reg: r });
          this.onEvent({ type: 'step', task, step, iterations: this.iterations, loss: l, reg: r });
        }
        loss.dispose();
        reg?.dispose();
        if (this.checkpointEvery !== null && step % this.checkpointEvery === 0 && step < this.iterations) {
          p.position = { task, step, taskDone: false };
          p.sampler = sampler.getState();
          p.taskSeconds[task] = prior + (performance.now() - t0) / 1000;
          await this.save(p);
        }
      }
      await this.method.endTask(task, info.train);
      const row: (number | null)[] = [];
      const inf: (number | null)[] = [];
      for (let j = 0; j < T; j++) {
        if (j > task) {
          row.push(null);
          inf.push(null);
          continue;
        }
        const ev = await evaluateTask(this.method, this.stream.task(j).test, j, task + 1, this.evalBatchSize);
        row.push(ev.accuracy);
        inf.push(ev.taskInference);
        this.onEvent({
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
      this.onEvent({ type: 'task-end', task, seconds: p.taskSeconds[task]!, accuracies: row });
      p.position = { task, step: this.iterations, taskDone: true };
      p.sampler = null;
      fresh = true;
      if (this.checkpointPath) await this.save(p);
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
    const path = this.checkpointPath!;
    const st = this.method.state();
    await saveCheckpoint(path, {
      tensors: st.tensors,
      meta: {
        step: p.position.task * this.iterations + p.position.step,
        config: this.config.fingerprint ?? null,
        continual: { ...p, method: st.meta, methodName: this.method.name, stream: this.stream.name },
      },
    });
    this.onEvent({ type: 'checkpoint', task: p.position.task, step: p.position.step, path });
  }

  /** Loads the checkpoint (null when there is none yet), checks it belongs to this run, restores. */
  private async restore(): Promise<Progress | null> {
    const path = this.checkpointPath;
    if (!path) throw new ConfigError('resume', 'needs checkpointDir');
    const ck = await loadCheckpointIfAny(path);
    if (!ck) return null; // nothing saved yet: start from the beginning
    try {
      const meta = ck.meta as {
        config?: unknown;
        continual?: Progress & { method: Record<string, unknown>; methodName: string; stream: string };
      };
      const c = meta.continual;
      if (!c)
        throw new CheckpointError(ck.paths.meta, 'is not a continual-learning checkpoint (no `continual` metadata)');
      if (c.methodName !== this.method.name || c.stream !== this.stream.name)
        throw new CheckpointError(
          ck.paths.meta,
          `was written by method ${c.methodName} on ${c.stream}; this run is ${this.method.name} on ${this.stream.name}`,
        );
      assertSameRunConfig(
        ck.paths.meta,
        this.config.fingerprint,
        meta.config,
        'use another --out, or the same options',
      );
      this.method.restore({ tensors: ck.tensors, meta: c.method });
      this.onEvent({ type: 'resume', task: c.position.task, step: c.position.step, path });
      return {
        position: c.position,
        sampler: c.sampler,
        accMatrix: c.accMatrix,
        taskInference: c.taskInference,
        taskSeconds: c.taskSeconds,
        curve: c.curve,
      };
    } finally {
      ck.dispose();
    }
  }
}
