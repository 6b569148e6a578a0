import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '@hypernets/core';
import type { Batch, DataSplit } from '@hypernets/data';
import { disposeBatch } from '@hypernets/data';
import type { ContinualMethod } from './method.js';
import { activeLogits, entropyInference, headLogits } from './scenario.js';

export interface TaskEvaluation {
  /** Fraction of correct predictions on the split. */
  accuracy: number;
  /** With HNET+ENT (cl2/cl3, conditioned methods): fraction of samples whose task was inferred right. */
  taskInference: number | null;
}

/**
 * Predictions for a batch of task `task` after `seen` tasks were learned, by the scenario's
 * rule: cl1 uses the given task's head; cl2/cl3 infer the task by entropy (conditioned
 * methods, HNET+ENT) or use the shared head / the classes seen so far (plain networks).
 * Returns predicted labels (task-local in cl1/cl2, global in cl3) and, with ENT, the inferred task.
 */
export function predict(method: ContinualMethod, x: tf.Tensor, task: number, seen: number): Prediction {
  // tidy keeps the tensors of the returned object (its null `task` is skipped).
  return tidy(() => predictionOf(method, x, task, seen));
}

export interface Prediction {
  label: tf.Tensor1D;
  task: tf.Tensor1D | null;
}

function predictionOf(method: ContinualMethod, x: tf.Tensor, task: number, seen: number): Prediction {
  const layout = method.layout;
  const argMax = (logits: tf.Tensor) => tf.cast(tf.argMax(logits, 1), 'int32') as tf.Tensor1D;
  if (layout.scenario === 'cl1')
    return { label: argMax(headLogits(layout, method.outputs(x, task), task)), task: null };
  if (method.conditioned)
    return entropyInference(
      layout,
      Array.from({ length: seen }, (_, i) => method.outputs(x, i)),
    );
  // the shared head (cl2), or all classes of the tasks seen so far (class-incremental cl3)
  return { label: argMax(activeLogits(layout, method.outputs(x, task), seen - 1, false)), task: null };
}

/** Accuracy of `method` on a split of task `task`, `seen` tasks learned (see `predict`). */
export async function evaluateTask(
  method: ContinualMethod,
  split: DataSplit,
  task: number,
  seen: number,
  batchSize = 1000,
): Promise<TaskEvaluation> {
  let correct = 0;
  let taskHits = 0;
  let n = 0;
  let withTask = false;
  for (const b of split.batches(batchSize)) {
    const [c, t] = await countBatch(method, b, task, seen);
    disposeBatch(b);
    correct += c;
    if (t !== null) {
      withTask = true;
      taskHits += t;
    }
    n += b.size;
  }
  return { accuracy: correct / n, taskInference: withTask ? taskHits / n : null };
}

async function countBatch(
  method: ContinualMethod,
  b: Batch,
  task: number,
  seen: number,
): Promise<[number, number | null]> {
  const labels = method.layout.scenario === 'cl3' ? b.yGlobal : b.y;
  const counts = tf.tidy(() => {
    const p = predict(method, b.x, task, seen);
    const c = tf.sum(tf.cast(tf.equal(p.label, labels), 'int32'));
    const t = p.task ? tf.sum(tf.cast(tf.equal(p.task, task), 'int32')) : tf.scalar(-1, 'int32');
    return tf.stack([c, t]);
  });
  // await data(), not dataSync(): WebGPU in Node cannot read GPU-resident tensors synchronously.
  const [c, t] = (await counts.data()) as Int32Array;
  counts.dispose();
  return [c!, t! < 0 ? null : t!];
}
