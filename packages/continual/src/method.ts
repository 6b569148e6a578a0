import type * as tf from '@tensorflow/tfjs-core';
import type { TargetNet } from '@hypernets/core';
import type { Batch, DataSplit } from '@hypernets/data';
import type { HeadLayout } from './scenario.js';

export type MethodName = 'hnet' | 'finetune' | 'ewc' | 'si';
export const METHODS: readonly MethodName[] = ['hnet', 'finetune', 'ewc', 'si'];

/** Everything a method must checkpoint: tensors (saved as safetensors) and JSON. */
export interface MethodState {
  tensors: Record<string, tf.Tensor>;
  meta: Record<string, unknown>;
}

/** Loss values of one step (scalars the caller disposes). `reg` is null when no regulariser ran. */
export interface StepLosses {
  loss: tf.Scalar;
  reg: tf.Scalar | null;
}

/**
 * A continual learner the trainer drives: tasks arrive one after another, each trained for a
 * number of steps, between `beginTask` and `endTask`.
 */
export interface ContinualMethod {
  readonly name: MethodName;
  /** True when the outputs depend on a task id (a task-conditioned hypernetwork). */
  readonly conditioned: boolean;
  readonly target: TargetNet;
  readonly layout: HeadLayout;
  /** Trainable scalars (hypernetwork or target), for reports. */
  readonly numParams: number;
  beginTask(task: number): void;
  /** One optimisation step on a batch of `task`. */
  trainStep(batch: Batch, task: number): StepLosses;
  /** After the last step of `task` (Fisher / path-integral importances, …); `train` is its data. */
  endTask(task: number, train: DataSplit): void | Promise<void>;
  /** Target outputs [B, outputs] for x with task `task`'s weights (the id is ignored when unconditioned). */
  outputs(x: tf.Tensor, task: number): tf.Tensor;
  state(): MethodState;
  /** Validates the whole state before assigning anything. */
  restore(state: MethodState): void;
  dispose(): void;
}
