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
  RunCheckpoint,
  boundedArray,
  eventEmitter,
  objectOption,
  parseTrainingOptions,
  runSteps,
  trainingOptionsSchema,
} from '@hypernets/core/internal';
import type { Env } from '../envs/env.js';
import type { Box } from '../envs/spaces.js';
import { checkDataset, type ZeroShotDataset } from './dataset.js';
import { evaluateZeroShot, type ZeroShotEvaluation } from './evaluate.js';
import { zeroShotLoss, type ZeroShotBatch } from './loss.js';
import type { ZeroShotModel } from './model.js';

/**
 * Trains a HyperZero (or ContextMlp) model on teachers' solutions as the reference's
 * `train_rl_regressor.py` + `RLApproximator`/`PolicyApproximator` do: epochs of shuffled
 * minibatches over every transition of every training context (the last minibatch of an epoch
 * smaller, as their FastTensorDataLoader), Adam, the loss of `zeroShotLoss`; after each logged
 * epoch the mean loss terms over the epoch and, with `validation`, over the held-out contexts'
 * transitions (the reference's `valid/` metrics).
 *
 * Each epoch's order comes from a generator seeded by (seed, epoch), so a checkpoint (at epoch
 * ends) holds only the variables, Adam's moments and step, and the curve: a resumed run gives the
 * numbers of one that never stopped (same backend).
 */

export const HYPERZERO_EVENT_TYPES = ['epoch', 'checkpoint', 'resume'] as const;

/** The mean loss terms over an epoch (value and td null where not computed). */
export interface ZeroShotLossMeans {
  loss: number;
  action: number;
  value: number | null;
  td: number | null;
}

export interface HyperZeroEpochStats {
  epoch: number;
  /** Minibatch updates so far. */
  updates: number;
  train: ZeroShotLossMeans;
  /** On `validation` (every term the model has, the TD term included); null without validation. */
  valid: ZeroShotLossMeans | null;
}

export type HyperZeroTrainEvent =
  | ({ type: 'epoch'; epochs: number; seconds: number } & HyperZeroEpochStats)
  | { type: 'checkpoint'; epoch: number; path: string }
  | { type: 'resume'; epoch: number; path: string };

export interface HyperZeroTrainerOptions {
  /** What is trained: a HyperZero or a ContextMlp (its variables change in place). */
  model: ZeroShotModel;
  /** The training contexts' transitions. */
  data: ZeroShotDataset;
  /** Held-out contexts' transitions for the validation losses. */
  validation?: ZeroShotDataset;
  /** Passes over `data`. Default 500 (the reference's `num_train_epochs`). */
  epochs?: number;
  /** Default 512 (the reference's `batch_size`). */
  batchSize?: number;
  /** Adam's learning rate. Default 1e-4 (the reference's approximator `lr`). */
  learningRate?: number;
  /** Default 0.01 (`value_weight`). */
  valueWeight?: number;
  /** Default 0.01 (`td_weight`). */
  tdWeight?: number;
  /** Add the TD term (`use_td`). Default: true for a model with a Q-function. */
  useTd?: boolean;
  /** Builds the env of a context, for `evaluateZeroShot`. */
  makeEnv?: (context: readonly number[]) => Env<Box>;
  /** Env action = actionScale · π̂(s). Default: the env's action high bound. */
  actionScale?: number;
  seed?: number;
  /** Read the losses back and emit an `epoch` event every this many epochs (and the last). Default 1. */
  logEvery?: number;
  checkpointDir?: string;
  /** Checkpoint every this many epochs (and after the last). */
  checkpointEvery?: number;
  fingerprint?: unknown;
  callbacks?: TrainerCallbacks<HyperZeroTrainEvent>;
}

export interface HyperZeroTrainResult {
  epochs: number;
  updates: number;
  seconds: number;
  /** The logged epochs. */
  curve: HyperZeroEpochStats[];
}

const meansSchema = z.object({
  loss: z.number(),
  action: z.number(),
  value: z.number().nullable(),
  td: z.number().nullable(),
});
const progressSchema = z.object({
  epoch: z.number().int().nonnegative(),
  updates: z.number().int().nonnegative(),
  adam: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  curve: boundedArray(
    z.object({
      epoch: z.number().int(),
      updates: z.number().int(),
      train: meansSchema,
      valid: meansSchema.nullable(),
    }),
  ),
});
type Progress = z.infer<typeof progressSchema>;

const posInt = z.number().int().positive();
const optionsSchema = trainingOptionsSchema
  .extend({
    model: objectOption<ZeroShotModel>('a HyperZero or ContextMlp model'),
    data: objectOption<ZeroShotDataset>('a ZeroShotDataset'),
    validation: objectOption<ZeroShotDataset>('a ZeroShotDataset').optional(),
    epochs: posInt.default(500),
    batchSize: posInt.default(512),
    learningRate: z.number().positive().default(1e-4),
    valueWeight: z.number().nonnegative().default(0.01),
    tdWeight: z.number().nonnegative().default(0.01),
    useTd: z.boolean().optional(),
    makeEnv: z.function().optional(),
    actionScale: z.number().positive().optional(),
    logEvery: posInt.default(1),
  })
  .strict();

/** Host rows of a dataset as tensors, contexts remapped to those the batch uses. */
interface HostBatch {
  contexts: number[][];
  tensors: ZeroShotBatch;
}

export class HyperZeroTrainer implements Trainer<HyperZeroTrainResult> {
  readonly model: ZeroShotModel;
  readonly config: {
    epochs: number;
    batchSize: number;
    learningRate: number;
    valueWeight: number;
    tdWeight: number;
    useTd: boolean;
    seed: number;
    logEvery: number;
    /** Minibatches per epoch. */
    batchesPerEpoch: number;
  };
  private readonly data: ZeroShotDataset;
  private readonly validation: ZeroShotDataset | null;
  private readonly n: number;
  private readonly names: string[];
  private readonly vars: tf.Variable[];
  private readonly adam: Adam;
  private readonly emit: (e: HyperZeroTrainEvent) => Promise<void>;
  private readonly checkpoint: RunCheckpoint<Progress>;
  private readonly checkpointEvery: number | null;
  private readonly makeEnv: ((context: readonly number[]) => Env<Box>) | null;
  private readonly actionScale: number | undefined;

  constructor(options: HyperZeroTrainerOptions) {
    const o = parseTrainingOptions(optionsSchema, options);
    const model = options.model;
    if (!model.variables || typeof model.prepare !== 'function')
      throw new ConfigError('model', 'must be a HyperZero or ContextMlp model');
    this.model = model;
    const mc = model.config;
    const check = (d: ZeroShotDataset, what: string) => {
      const n = checkDataset(d, what);
      if (
        d.observationSize !== mc.observationSize ||
        d.actionSize !== mc.actionSize ||
        d.contexts[0]!.length !== mc.contextSize
      )
        throw new ConfigError(
          what,
          `holds observations of ${d.observationSize}, actions of ${d.actionSize} and contexts of ${d.contexts[0]!.length} values; the model takes ${mc.observationSize}, ${mc.actionSize} and ${mc.contextSize}`,
        );
      return n;
    };
    this.n = check(options.data, 'data');
    if (options.validation) check(options.validation, 'validation');
    this.data = options.data;
    this.validation = options.validation ?? null;
    const useTd = o.useTd ?? mc.withQ;
    if (useTd && !mc.withQ) throw new ConfigError('useTd', 'the TD term needs a model with a Q-function (withQ)');
    this.config = {
      epochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      valueWeight: o.valueWeight,
      tdWeight: o.tdWeight,
      useTd,
      seed: o.seed,
      logEvery: o.logEvery,
      batchesPerEpoch: Math.ceil(this.n / o.batchSize),
    };
    this.names = Object.keys(model.variables);
    this.vars = this.names.map((k) => model.variables[k]!);
    this.adam = new Adam(this.vars, { lr: o.learningRate });
    this.emit = eventEmitter(HYPERZERO_EVENT_TYPES, (o.callbacks ?? {}) as TrainerCallbacks<HyperZeroTrainEvent>);
    this.checkpoint = new RunCheckpoint({
      dir: o.checkpointDir,
      kind: 'hyperzero',
      what: 'HyperZero training',
      progress: progressSchema,
      fingerprint: o.fingerprint ?? null,
      hint: 'use another output directory, or the options it was started with',
    });
    this.checkpointEvery = o.checkpointEvery ?? null;
    this.makeEnv = (options.makeEnv as ((c: readonly number[]) => Env<Box>) | undefined) ?? null;
    this.actionScale = o.actionScale;
  }

  /** The order of epoch `epoch` (1-based): a permutation seeded by (seed, epoch). */
  private epochOrder(epoch: number): Int32Array {
    return new Rng((Math.imul(this.config.seed + 1, 0x9e3779b1) ^ Math.imul(epoch, 0x85ebca6b)) | 0).permutation(
      this.n,
    );
  }

  /** Rows `rows` of `d` as tensors, sample contexts remapped to the distinct ones among them. */
  private batch(d: ZeroShotDataset, rows: ArrayLike<number>): HostBatch {
    const B = rows.length;
    const O = d.observationSize;
    const A = d.actionSize;
    const states = new Float32Array(B * O);
    const actions = new Float32Array(B * A);
    const rewards = new Float32Array(B);
    const nextStates = new Float32Array(B * O);
    const discounts = new Float32Array(B);
    const values = new Float32Array(B);
    const index = new Int32Array(B);
    const local = new Map<number, number>();
    const contexts: number[][] = [];
    for (let k = 0; k < B; k++) {
      const j = rows[k]!;
      states.set(d.states.subarray(j * O, (j + 1) * O), k * O);
      actions.set(d.actions.subarray(j * A, (j + 1) * A), k * A);
      rewards[k] = d.rewards[j]!;
      nextStates.set(d.nextStates.subarray(j * O, (j + 1) * O), k * O);
      discounts[k] = d.discounts[j]!;
      values[k] = d.values[j]!;
      const c = d.contextIndex[j]!;
      let at = local.get(c);
      if (at === undefined) {
        at = contexts.length;
        local.set(c, at);
        contexts.push(d.contexts[c]!);
      }
      index[k] = at;
    }
    return {
      contexts,
      tensors: tf.tidy(() => ({
        states: tf.tensor2d(states, [B, O]),
        actions: tf.tensor2d(actions, [B, A]),
        rewards: tf.tensor1d(rewards),
        nextStates: tf.tensor2d(nextStates, [B, O]),
        discounts: tf.tensor1d(discounts),
        values: tf.tensor1d(values),
        index: tf.tensor1d(index, 'int32'),
      })),
    };
  }

  private lossOptions(report: boolean) {
    const c = this.config;
    return { valueWeight: c.valueWeight, tdWeight: c.tdWeight, useTd: c.useTd, reportTd: report };
  }

  /** One minibatch update; returns the loss terms [4] (loss, action, value, td; 0 where absent). */
  private update(rows: ArrayLike<number>): tf.Tensor1D {
    const { contexts, tensors } = this.batch(this.data, rows);
    let terms = null as tf.Tensor1D | null;
    try {
      const { value, grads } = tf.variableGrads(() => {
        // variableGrads frees what its function makes, except the loss: keep the terms
        const p = this.model.prepare(tf.tensor2d(contexts));
        const t = zeroShotLoss(this.model, p, tensors, this.lossOptions(false));
        terms = tf.keep(tf.stack([t.loss, t.action, t.value ?? tf.scalar(0), t.td ?? tf.scalar(0)]) as tf.Tensor1D);
        return t.loss;
      }, this.vars);
      this.adam.step(this.vars.map((v) => grads[v.name] ?? null));
      tf.dispose([value, ...Object.values(grads)]);
      return terms!;
    } finally {
      tf.dispose(Object.values(tensors));
    }
  }

  /** The mean loss terms over every transition of `d` (minibatches of batchSize, no update). */
  async evaluateLoss(d: ZeroShotDataset): Promise<ZeroShotLossMeans> {
    const n = d.contextIndex.length;
    const bs = this.config.batchSize;
    let sums: tf.Tensor | null = null;
    const withQ = this.model.config.withQ;
    for (let at = 0; at < n; at += bs) {
      const rows = Int32Array.from({ length: Math.min(bs, n - at) }, (_, k) => at + k);
      const { contexts, tensors } = this.batch(d, rows);
      const s = tf.tidy(() => {
        const p = this.model.prepare(tf.tensor2d(contexts));
        const t = zeroShotLoss(this.model, p, tensors, this.lossOptions(withQ));
        // weighted by the batch size: the mean over transitions
        return tf.mul(tf.stack([t.loss, t.action, t.value ?? tf.scalar(0), t.td ?? tf.scalar(0)]), rows.length);
      });
      tf.dispose(Object.values(tensors));
      const prev: tf.Tensor | null = sums;
      sums = prev ? tf.add(prev, s) : s;
      if (prev) {
        prev.dispose();
        s.dispose();
      }
    }
    const m = Array.from(await sums!.data(), (v) => v / n);
    sums!.dispose();
    return { loss: m[0]!, action: m[1]!, value: withQ ? m[2]! : null, td: withQ ? m[3]! : null };
  }

  async run(options: RunOptions = {}): Promise<HyperZeroTrainResult> {
    const c = this.config;
    let p: Progress = { epoch: 0, updates: 0, adam: 0, seconds: 0, curve: [] };
    if (options.resume) p = (await this.restore()) ?? p;
    const t0 = performance.now();
    const prior = p.seconds;
    const elapsed = () => prior + (performance.now() - t0) / 1000;
    const withQ = this.model.config.withQ;
    const last = await runSteps(
      {
        from: p.epoch,
        to: c.epochs,
        logEvery: c.logEvery,
        checkpointEvery: this.checkpoint.path ? this.checkpointEvery : null,
        checkpointLast: this.checkpoint.path !== null,
      },
      {
        step: async (epoch, log) => {
          const order = this.epochOrder(epoch);
          let sums: tf.Tensor | null = null;
          for (let at = 0; at < this.n; at += c.batchSize) {
            const t = this.update(order.subarray(at, Math.min(at + c.batchSize, this.n)));
            // weighted by the batch size (the last batch is smaller)
            const w = tf.mul(t, Math.min(c.batchSize, this.n - at));
            t.dispose();
            const prev: tf.Tensor | null = sums;
            sums = prev ? tf.add(prev, w) : w;
            if (prev) {
              prev.dispose();
              w.dispose();
            }
            p.updates++;
          }
          p.epoch = epoch;
          if (!log) {
            sums!.dispose();
            return;
          }
          const m = Array.from(await sums!.data(), (v) => v / this.n);
          sums!.dispose();
          if (m.some((v) => !Number.isFinite(v)))
            throw new TrainingError(
              `HyperZero's loss at epoch ${epoch} is not finite (${m.join(', ')}); lower the learning rate`,
            );
          const train: ZeroShotLossMeans = {
            loss: m[0]!,
            action: m[1]!,
            value: withQ ? m[2]! : null,
            td: withQ && c.useTd ? m[3]! : null,
          };
          const valid = this.validation ? await this.evaluateLoss(this.validation) : null;
          const entry: HyperZeroEpochStats = { epoch, updates: p.updates, train, valid };
          p.curve.push(entry);
          await this.emit({ type: 'epoch', ...entry, epochs: c.epochs, seconds: elapsed() });
        },
        checkpoint: async (epoch) => {
          p = { ...p, epoch, adam: this.adam.t, seconds: elapsed() };
          const path = await this.checkpoint.save({
            step: epoch,
            progress: p,
            tensors: { ...this.modelTensors(), ...this.adam.slots(this.names, 'adam.') },
            meta: { hyperzeroConfig: this.configKey() },
          });
          await this.emit({ type: 'checkpoint', epoch, path });
        },
      },
    );
    return { epochs: last, updates: p.updates, seconds: elapsed(), curve: p.curve };
  }

  private modelTensors(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    for (const k of this.names) out[`model.${k}`] = this.model.variables[k]!;
    return out;
  }

  /** What must match for a checkpoint to resume: the model, the data's shape and the options. */
  private configKey(): Record<string, unknown> {
    const { logEvery: _l, ...rest } = this.config;
    return JSON.parse(
      JSON.stringify({
        ...rest,
        model: { kind: this.model.kind, ...this.model.config },
        data: { transitions: this.n, contexts: this.data.contexts },
      }),
    ) as Record<string, unknown>;
  }

  /**
   * Loads the run's checkpoint (the model's variables, Adam's state) without training, as a resume
   * would, e.g. to evaluate a saved run. Returns where it stands; null when `checkpointDir` holds none.
   */
  async restoreCheckpoint(): Promise<{ epoch: number; updates: number; curve: HyperZeroEpochStats[] } | null> {
    const p = await this.restore();
    return p && { epoch: p.epoch, updates: p.updates, curve: p.curve };
  }

  private async restore(): Promise<Progress | null> {
    const p = await this.checkpoint.restore((ck, p) => {
      const want = JSON.stringify(this.configKey());
      const have = JSON.stringify(ck.meta.hyperzeroConfig ?? null);
      if (want !== have)
        throw new CheckpointError(ck.paths.meta, `was written by the HyperZero run ${have}; this run's is ${want}`);
      if (p.epoch > this.config.epochs)
        throw new CheckpointError(ck.paths.meta, `is at epoch ${p.epoch}, past this run's ${this.config.epochs}`);
      restoreVariables(ck, { ...this.modelTensors(), ...this.adam.slots(this.names, 'adam.') });
      this.adam.t = p.adam;
    });
    if (p) await this.emit({ type: 'resume', epoch: p.epoch, path: this.checkpoint.path! });
    return p;
  }

  /**
   * Zero-shot: runs the generated policies on `contexts` (unseen ones, typically) with no further
   * training, `episodes` deterministic episodes each (episode e resets with `episodeSeed(seed, e)`), all
   * contexts' envs stepped together with one batched forward per step. Needs `makeEnv`.
   */
  async evaluateZeroShot(
    contexts: readonly (readonly number[])[],
    episodes: number,
    options: { seed?: number; maxSteps?: number } = {},
  ): Promise<ZeroShotEvaluation[]> {
    if (!this.makeEnv) throw new ConfigError('makeEnv', 'is needed to evaluate policies in their envs');
    return evaluateZeroShot(this.model, contexts, {
      makeEnv: this.makeEnv,
      episodes,
      seed: options.seed,
      actionScale: this.actionScale,
      ...(options.maxSteps === undefined ? {} : { maxSteps: options.maxSteps }),
    });
  }

  /** Frees Adam's state (the model stays: the caller owns it). */
  dispose(): void {
    this.adam.dispose();
  }
}
