import * as tf from '@tensorflow/tfjs-core';
import { Adam, ConfigError, Rng, countParams, createVariables, type InitScheme, type TargetNet } from '@hypernets/core';
import { sameShape } from '@hypernets/core/internal';
import type { Batch, DataSplit } from '@hypernets/data';
import type { ContinualMethod, MethodState, StepLosses } from '../method.js';
import { taskLoss, type HeadLayout } from '../scenario.js';

export interface BaselineConfig {
  target: TargetNet;
  layout: HeadLayout;
  /** Adam learning rate. Default 1e-3 (van de Ven's Split-MNIST; 1e-4 for their Permuted-MNIST). */
  lr?: number;
  /** Seed of the target's initial weights (and of the Fisher's sample draws). Default 0. */
  seed?: number;
  /** Initialiser of the target's weights. Default 'auto' (Kaiming for ReLU layers, Xavier otherwise). */
  init?: InitScheme;
}

export function checkNumber(field: string, v: unknown, ok: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v))
    throw new ConfigError(field, `must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Shared machinery: the target's own weights as variables, one Adam over them (kept across
 * tasks, as van de Ven's default 'adam' optimiser), checkpointable state.
 */
export abstract class TargetWeightsMethod implements ContinualMethod {
  abstract readonly name: 'finetune' | 'ewc' | 'si';
  readonly conditioned = false;
  readonly target: TargetNet;
  readonly layout: HeadLayout;
  readonly numParams: number;
  readonly lr: number;
  protected readonly weights: Record<string, tf.Variable>;
  protected readonly vars: tf.Variable[];
  protected readonly names: string[];
  protected readonly adam: Adam;
  protected rng: Rng;
  protected task = -1;

  constructor(config: BaselineConfig) {
    const { target, layout } = config;
    if (!target || !Array.isArray(target.params) || target.params.length === 0)
      throw new ConfigError('target', 'needs a TargetNet with at least one ParamSpec');
    if (target.stateSpecs && target.stateSpecs.length > 0)
      throw new ConfigError(
        'target',
        `${target.name} has non-trainable state (${target.stateSpecs.map((s) => s.name).join(', ')}); the baselines train targets without batch-norm state`,
      );
    if (!layout || !Number.isInteger(layout.outputs))
      throw new ConfigError('layout', 'needs a HeadLayout (headLayout(stream, scenario))');
    const outSize = target.outputShape[target.outputShape.length - 1];
    if (outSize !== layout.outputs)
      throw new ConfigError(
        'layout',
        `the layout needs ${layout.outputs} target outputs ` +
          `(${layout.scenario}, ${layout.numTasks} tasks × ${layout.classesPerTask} classes); ${target.name} has ${outSize}`,
      );
    this.target = target;
    this.layout = layout;
    this.lr = checkNumber('lr', config.lr ?? 1e-3, (x) => x > 0, 'a number > 0');
    const seed = config.seed ?? 0;
    if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${JSON.stringify(seed)}`);
    this.rng = new Rng(seed);
    this.weights = createVariables(target.params, this.rng, config.init ?? 'auto');
    this.names = target.params.map((s) => s.name);
    this.vars = this.names.map((n) => this.weights[n]!);
    this.adam = new Adam(this.vars, { lr: this.lr });
    this.numParams = countParams(target.params);
  }

  beginTask(task: number): void {
    if (!Number.isInteger(task) || task < 0 || task >= this.layout.numTasks)
      throw new ConfigError('task', `must be an integer in [0, ${this.layout.numTasks - 1}], got ${task}`);
    this.task = task;
  }

  /** The regulariser's value and its (analytic) gradient per variable, or null when there is none yet. */
  abstract penalty(): { value: tf.Scalar; grads: tf.Tensor[] } | null;

  /** Applies the step; `taskGrads` are the task loss's gradients, `grads` those of loss + penalty. */
  protected applyStep(_taskGrads: readonly tf.Tensor[], grads: readonly tf.Tensor[]): void {
    this.adam.step(grads);
  }

  trainStep(batch: Batch, task: number): StepLosses {
    if (task !== this.task)
      throw new ConfigError('task', `trainStep(task ${task}) outside beginTask(${task}) (current task ${this.task})`);
    const { value: loss, grads } = tf.variableGrads(
      () => taskLoss(this.layout, this.target.forward(batch.x, this.weights), batch, task, false),
      this.vars,
    );
    const g = this.vars.map((v) => grads[v.name]!);
    const pen = this.penalty();
    const total = pen ? tf.tidy(() => g.map((gi, i) => tf.add(gi, pen.grads[i]!))) : g;
    try {
      this.applyStep(g, total);
    } finally {
      tf.dispose(Object.values(grads));
      if (pen) tf.dispose([...pen.grads, ...total]);
    }
    return { loss, reg: pen ? pen.value : null };
  }

  abstract endTask(task: number, train: DataSplit): void | Promise<void>;

  protected checkEndTask(task: number): void {
    if (task !== this.task) throw new ConfigError('task', `endTask(${task}) but the current task is ${this.task}`);
  }

  outputs(x: tf.Tensor, _task: number): tf.Tensor {
    return tf.tidy(() => this.target.forward(x, this.weights));
  }

  /** The target's current weights (views of the variables; do not dispose). */
  currentWeights(): Readonly<Record<string, tf.Variable>> {
    return this.weights;
  }

  /** Method-specific tensors and meta for the checkpoint. */
  protected abstract extraState(): MethodState;
  /** Validates the method-specific part of a state (throws before anything is assigned). */
  protected abstract checkExtra(state: MethodState): void;
  /** Assigns the method-specific part (already validated). */
  protected abstract assignExtra(state: MethodState): void;

  state(): MethodState {
    const tensors: Record<string, tf.Tensor> = {};
    for (const n of this.names) tensors[`target/${n}`] = this.weights[n]!;
    const a = this.adam.state('adam/');
    Object.assign(tensors, a.tensors);
    const extra = this.extraState();
    Object.assign(tensors, extra.tensors);
    return {
      tensors,
      meta: { method: this.name, task: this.task, adam: a.t, rng: this.rng.getState(), ...extra.meta },
    };
  }

  /** A tensor of the state with the shape of ParamSpec `name` (throws ConfigError naming it). */
  protected pick(state: MethodState, key: string, name: string): tf.Tensor {
    const t = state.tensors[key];
    const spec = this.target.params.find((s) => s.name === name)!;
    if (!t) throw new ConfigError('checkpoint', `${this.name} state tensor '${key}' is missing`);
    if (!sameShape(t.shape, spec.shape))
      throw new ConfigError(
        'checkpoint',
        `${this.name} state tensor '${key}' has shape [${t.shape}], ParamSpec '${name}' needs [${spec.shape}]`,
      );
    return t;
  }

  restore(state: MethodState): void {
    // Work on clones (same data, own references): assigning a variable its own tensor — a
    // restore of this method's own state() views — would otherwise free the data it keeps.
    const clones = Object.fromEntries(Object.entries(state.tensors).map(([k, v]) => [k, tf.clone(v)]));
    try {
      this.restoreFrom({ tensors: clones, meta: state.meta });
    } finally {
      tf.dispose(Object.values(clones));
    }
  }

  private restoreFrom(state: MethodState): void {
    const { tensors, meta } = state;
    if (meta.method !== this.name)
      throw new ConfigError(
        'checkpoint',
        `the state belongs to method ${JSON.stringify(meta.method)}, not '${this.name}'`,
      );
    const task = meta.task;
    if (typeof task !== 'number' || !Number.isInteger(task) || task < -1 || task >= this.layout.numTasks)
      throw new ConfigError('checkpoint', `${this.name} state names task ${String(task)}`);
    const t = meta.adam;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0)
      throw new ConfigError('checkpoint', `${this.name} state has Adam step ${String(t)}`);
    if (!Array.isArray(meta.rng) || !meta.rng.every((v) => Number.isInteger(v)))
      throw new ConfigError('checkpoint', `${this.name} state has no valid rng state`);
    // validate everything first
    const w = this.names.map((n) => this.pick(state, `target/${n}`, n));
    this.names.forEach((n, i) => {
      for (const s of ['m', 'v']) {
        const k = `adam/${s}.${i}`;
        const x = tensors[k];
        if (!x) throw new ConfigError('checkpoint', `optimizer slot '${k}' is missing`);
        if (!sameShape(x.shape, this.vars[i]!.shape))
          throw new ConfigError(
            'checkpoint',
            `optimizer slot '${k}' has shape [${x.shape}], expected [${this.vars[i]!.shape}] (ParamSpec '${n}')`,
          );
      }
    });
    this.checkExtra(state);
    const rng = new Rng(meta.rng as number[]);
    // assign
    w.forEach((x, i) => this.vars[i]!.assign(x));
    this.adam.restore('adam/', tensors, t);
    this.assignExtra(state);
    this.task = task;
    this.rng = rng;
  }

  protected disposeExtra(): void {}

  dispose(): void {
    this.adam.dispose();
    tf.dispose(this.vars);
    this.disposeExtra();
  }
}
