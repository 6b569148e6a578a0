import * as tf from '@tensorflow/tfjs-core';
import { type ParamSpec, type Rng, type SublayerHook, type Weights } from '@hypernets/core';
import type { AdapterShape } from '../adapter.js';
import type { UseLiteEncoder } from '../backbone/use-lite.js';

/** The frozen encoder a method adapts: a UseLite, or any encoder of its shape (tests use a tiny one). */
export interface Backbone {
  readonly net: UseLiteEncoder;
  readonly weights: Weights;
  tokenize(texts: readonly string[]): number[][];
}

/** The methods of this package, as the CLI names them. */
export const METHOD_NAMES = [
  'linear',
  'finetune',
  'adapters',
  'hyperformer',
  'hyperformer++',
  'hyperx',
  'pha',
] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** What a method is built from: the backbone, the tasks (and their domains, for Hyper-X), a seeded Rng. */
export interface MethodContext {
  readonly backbone: Backbone;
  /** Task names, in task-id order. */
  readonly tasks: readonly string[];
  /** Domain id of each task (Hyper-X's second factor); default: one domain. */
  readonly domains?: readonly number[];
  /** Family (task factor) id of each task: tasks of one family share a task embedding; default: each task its own. */
  readonly families?: readonly number[];
  readonly rng: Rng;
}

/** What one forward pass of a single-task batch runs with. */
export interface MethodForward {
  /** The backbone's weights (the frozen pretrained ones, or the fine-tuned variables). */
  readonly weights: Weights;
  /** Rewrites the adapter sites; none: the plain backbone. */
  readonly hook?: SublayerHook;
}

/**
 * An extra training loss on instances of every task at once (PHA's contrastive terms): each step
 * the trainer draws `perTask` training examples of every task and calls `loss` inside the tape
 * with their frozen sentence embeddings (the backbone without adapters; pairs: the mean of the
 * two texts') and their task ids; the result is added to the batch's cross-entropy.
 */
export interface AuxiliaryLoss {
  readonly perTask: number;
  loss(features: tf.Tensor2D, tasks: readonly number[]): tf.Scalar;
}

/**
 * A way to adapt the frozen backbone to several tasks. Its variables fall in two groups, so
 * that the trainer can give each its own Adam (torch counts Adam steps per parameter; a task's
 * variables only step when that task is sampled): `shared` (trained on every task's batches:
 * hypernetworks, task embeddings, a fine-tuned backbone) and `taskVariables(t)` (task t's own).
 * Names are stable (checkpoints and the README's tables use them).
 */
export interface AdapterMethod {
  readonly name: MethodName;
  /** Variables every task's batches train, by stable name. */
  readonly shared: Readonly<Record<string, tf.Variable>>;
  /** Task t's own variables, by stable name (empty for methods without any). */
  taskVariables(task: number): Readonly<Record<string, tf.Variable>>;
  /** Called inside the gradient tape: weights and hook for a batch of task `task`. */
  forward(task: number): MethodForward;
  /** Condition for a task-and-domain pair (Hyper-X's zero-shot generation); default: `forward(task)`. */
  forwardFor?(task: number, domain: number): MethodForward;
  /** A loss over instances of every task, added each step when there are ≥ 2 tasks. */
  readonly auxiliary?: AuxiliaryLoss;
  dispose(): void;
}

/** Trainable scalars of a method: shared, and each task's own. */
export function methodParams(m: AdapterMethod, numTasks: number): { shared: number; perTask: number[] } {
  const size = (vars: Readonly<Record<string, tf.Variable>>) => Object.values(vars).reduce((a, v) => a + v.size, 0);
  return { shared: size(m.shared), perTask: Array.from({ length: numTasks }, (_, t) => size(m.taskVariables(t))) };
}

/**
 * HyperFormer's adapter shape for the backbone's sites: d = 512, r = d / 32 (its
 * `reduction_factor`), GELU (tanh form, its `gelu_new`).
 */
export function defaultAdapterShape(width: number, reductionFactor = 32): Omit<AdapterShape, 'preNorm' | 'postNorm'> {
  return { width, bottleneck: Math.max(1, Math.floor(width / reductionFactor)), activation: 'gelu-tanh' };
}

/**
 * Variables for ParamSpecs, initialised as HyperFormer's `linear_layer` does (weights
 * N(0, std²), biases 0), LayerNorm scales 1 and shifts 0.
 */
export function adapterVariables(
  specs: readonly ParamSpec[],
  rng: Rng,
  std = 1e-2,
  prefix = '',
): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const s of specs) {
    const shape = [...s.shape];
    const init =
      s.kind === 'norm-scale'
        ? tf.ones(shape)
        : s.kind === 'weight'
          ? tf.randomNormal(shape, 0, std, 'float32', rng.seed())
          : tf.zeros(shape);
    out[prefix + s.name] = tf.variable(init, true);
    init.dispose();
  }
  return out;
}
