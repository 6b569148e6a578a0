import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, softmaxCrossEntropy } from '@hypernets/core';
import type { TaskStream } from '@hypernets/data';

/**
 * The three continual-learning scenarios of van de Ven & Tolias (2019), as von Oswald et al.
 * (2020) use them:
 * - 'cl1': the task id is given at test time; every task has its own output head.
 * - 'cl2': the task id is not given; one shared head (as many outputs as a task has classes),
 *   predictions are task-local labels.
 * - 'cl3': the task id is not given and the class must be told among all tasks' classes. A
 *   hypernetwork trains one head per task (as in cl1) and infers the task at test time
 *   (HNET+ENT: the task embedding whose prediction has the lowest entropy); a plain network
 *   trains class-incrementally (softmax over the classes seen so far).
 */
export type Scenario = 'cl1' | 'cl2' | 'cl3';
export const SCENARIOS: readonly Scenario[] = ['cl1', 'cl2', 'cl3'];

/** Where each task's outputs live in the target network's output layer. */
export interface HeadLayout {
  readonly scenario: Scenario;
  /** Output units of the target network. */
  readonly outputs: number;
  readonly numTasks: number;
  readonly classesPerTask: number;
  /** First output unit of task t's head (0 for the shared head of cl2). */
  headStart(task: number): number;
}

/**
 * cl1 and cl3 build every head up front (numTasks · k outputs, as hypercl does); cl2 has one
 * shared head of k outputs.
 */
export function headLayout(stream: Pick<TaskStream, 'numTasks' | 'outputsPerTask'>, scenario: Scenario): HeadLayout {
  if (!SCENARIOS.includes(scenario))
    throw new ConfigError('scenario', `must be one of ${SCENARIOS.join(', ')}, got ${JSON.stringify(scenario)}`);
  const k = stream.outputsPerTask;
  const shared = scenario === 'cl2';
  return {
    scenario,
    outputs: shared ? k : k * stream.numTasks,
    numTasks: stream.numTasks,
    classesPerTask: k,
    headStart: (t) => (shared ? 0 : t * k),
  };
}

/** Task t's logits [B, k] out of the full output [B, outputs]. */
export function headLogits(layout: HeadLayout, out: tf.Tensor, task: number): tf.Tensor {
  if (layout.scenario === 'cl2') return out;
  return tf.slice(out, [0, layout.headStart(task)], [out.shape[0]!, layout.classesPerTask]);
}

/** True when a model trains and predicts class-incrementally: an unconditioned model in cl3. */
export function classIncremental(layout: HeadLayout, conditioned: boolean): boolean {
  return layout.scenario === 'cl3' && !conditioned;
}

/**
 * The logits a model's softmax sees for task t: the task's head (task-conditioned models, and
 * every model in cl1/cl2), or, class-incrementally, all classes of tasks 0…t.
 */
export function activeLogits(layout: HeadLayout, out: tf.Tensor, task: number, conditioned: boolean): tf.Tensor {
  if (classIncremental(layout, conditioned))
    return tf.slice(out, [0, 0], [out.shape[0]!, (task + 1) * layout.classesPerTask]);
  return headLogits(layout, out, task);
}

/** The labels matching `activeLogits`: global when class-incremental, task-local otherwise. */
export function activeLabels(
  layout: HeadLayout,
  labels: { y: tf.Tensor; yGlobal: tf.Tensor },
  conditioned: boolean,
): tf.Tensor {
  return classIncremental(layout, conditioned) ? labels.yGlobal : labels.y;
}

/** The training loss of a batch of task t: softmax cross-entropy over `activeLogits`. */
export function taskLoss(
  layout: HeadLayout,
  out: tf.Tensor,
  labels: { y: tf.Tensor; yGlobal: tf.Tensor },
  task: number,
  conditioned: boolean,
): tf.Scalar {
  return tf.tidy(() =>
    softmaxCrossEntropy(activeLogits(layout, out, task, conditioned), activeLabels(layout, labels, conditioned)),
  );
}

/** Per-row entropy of softmax(logits), [B] (nats). */
export function softmaxEntropy(logits: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)) as tf.Tensor1D;
  });
}

/**
 * Per-row log of the softmax entropy, log H [B], computed in log space so that confident rows
 * stay ordered. In float32 the entropy of a row whose logit gap exceeds ~87 underflows to
 * exactly 0 (e^−gap does), so two confident heads tie at H = 0 and an arg-min picks whichever
 * comes first; log H ≈ log(gap) − gap keeps them apart. With gaps g_j = max − z_j, j* the arg-max,
 * L = logsumexp_{j≠j*}(−g_j) and σ = log(1 + e^L):
 *   log H = logsumexp_j(log p_j + log(−log p_j)),  log p_j = −g_j − σ,  −log p_j = g_j + σ
 * (for j*, −log p = σ).
 */
export function softmaxLogEntropy(logits: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const k = logits.shape[logits.rank - 1]!;
    const z = tf.reshape(logits, [-1, k]);
    const g = tf.sub(tf.max(z, 1, true), z); // [B, k] ≥ 0
    const top = tf.cast(tf.oneHot(tf.argMax(z, 1), k), 'bool');
    const negInf = tf.fill(g.shape, -Infinity);
    const L = tf.logSumExp(tf.where(top, negInf, tf.neg(g)), 1, true); // [B, 1]; −∞ when k = 1
    // σ = log(1 + e^L) loses its digits in float32 once e^L ≪ 1: there σ ≈ e^L − e^{2L}/2, log σ ≈ L − e^L/2.
    const small = tf.less(L, -5);
    const eL = tf.exp(L);
    const sigma = tf.where(small, tf.mul(eL, tf.sub(1, tf.mul(eL, 0.5))), tf.softplus(L));
    const logSigma = tf.where(small, tf.sub(L, tf.mul(eL, 0.5)), tf.log(sigma));
    const others = tf.add(tf.neg(tf.add(g, sigma)), tf.log(tf.add(g, sigma)));
    const star = tf.sub(logSigma, sigma);
    return tf.reshape(tf.logSumExp(tf.where(top, tf.broadcastTo(star, g.shape), others), 1), [-1]) as tf.Tensor1D;
  });
}

/**
 * HNET+ENT task inference (von Oswald et al. 2020, §4.1): `outputsPerTask[i]` are the target
 * outputs [B, outputs] under task embedding i (i = 0…n−1, the tasks learned so far). For every
 * sample, the task whose head prediction has the lowest entropy wins. Returns the chosen task
 * [B] and the predicted label [B]: task-local in cl2, global (task · k + local) in cl3.
 */
export function entropyInference(
  layout: HeadLayout,
  outputsPerTask: readonly tf.Tensor[],
): { task: tf.Tensor1D; label: tf.Tensor1D } {
  return tf.tidy(() => {
    const heads = outputsPerTask.map((o, i) => headLogits(layout, o, i));
    const H = tf.stack(
      heads.map((h) => softmaxLogEntropy(h)),
      1,
    ); // [B, n], log H: same order as H, no ties at 0
    const task = tf.cast(tf.argMin(H, 1), 'int32') as tf.Tensor1D;
    const local = tf.stack(
      heads.map((h) => tf.argMax(h, 1)),
      1,
    ); // [B, n]
    // tf.oneHot needs depth ≥ 2: with one learned task there is nothing to choose.
    const pick =
      heads.length === 1
        ? tf.reshape(local, [-1])
        : tf.sum(tf.mul(local, tf.oneHot(task, heads.length, 1, 0, 'int32')), 1);
    const label = layout.scenario === 'cl3' ? tf.add(pick, tf.mul(task, layout.classesPerTask)) : pick;
    return { task, label: tf.cast(label, 'int32') as tf.Tensor1D };
  });
}
