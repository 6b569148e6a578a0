import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng } from '@hypernets/core';
import { PrototypeHyperAdapters } from './methods/pha.js';
import type { Backbone, MethodName } from './methods/method.js';
import { AdapterModel, frozenEmbeddings, type ModelOptions } from './model.js';
import { AdapterTrainer } from './trainer.js';
import type { TokenizedSplit, TokenizedTask } from './tasks.js';

/**
 * Few-shot transfer to a task no model was trained on:
 * - 'pha' (from a multi-task PHA model, `source`): the new task's prototype starts as the learned
 *   prototype its examples retrieve (PHA's instance-dense retriever), then only that prototype and
 *   the new task's head train; the hypernetwork, the retriever and the backbone stay frozen;
 * - any other method (the baselines: 'adapters', 'linear', …): a fresh single-task model of that
 *   method on the frozen backbone, everything it has trained on the same examples.
 * Both train `steps` Adam steps (AdapterTrainer's schedule: 6% warm-up, linear decay) on batches
 * drawn from the shots, with no validation data: the variables after the last step are tested (a
 * few-shot task has no held-out labels to select on).
 */
export interface FewShotOptions {
  backbone: Backbone;
  method: MethodName;
  /** The trained multi-task PHA model (needed for 'pha'; its options are reused). */
  source?: AdapterModel;
  /** The new task: `train` holds the labelled shots, `test` what it is measured on. */
  task: TokenizedTask;
  steps: number;
  lr: number;
  batchSize?: number;
  seed?: number;
  /** Options of a fresh model (baselines); default the source's. */
  options?: ModelOptions;
}

export interface FewShotResult {
  method: MethodName;
  task: string;
  shots: number;
  /** Test accuracy after the last step. */
  acc: number;
  /** PHA: the source task whose prototype was retrieved, and every prototype's cosine similarity. */
  retrieved?: { task: string; similarities: Record<string, number> };
  /** Scalars trained. */
  trained: number;
  seconds: number;
}

export async function fewShotTransfer(o: FewShotOptions): Promise<FewShotResult> {
  const t0 = performance.now();
  const seed = o.seed ?? 0;
  const info = [{ name: o.task.name, kind: o.task.kind, labels: o.task.labels }];
  const options = o.options ?? o.source?.options ?? {};
  const model = AdapterModel.create(o.backbone, o.method, info, options, seed);
  const data: TokenizedTask = { ...o.task, val: o.task.train };
  let trainOnly: string[] | undefined;
  let retrieved: FewShotResult['retrieved'];
  try {
    if (o.method === 'pha') {
      const src = o.source;
      if (!src || !(src.method instanceof PrototypeHyperAdapters))
        throw new ConfigError('source', "few-shot 'pha' needs the multi-task PHA model it transfers from");
      if (src.backbone !== o.backbone) throw new ConfigError('source', 'was built on another backbone');
      const pha = src.method;
      // Retrieve: the prototype nearest the shots' mean retriever embedding.
      const shots = o.task.train;
      const x = frozenEmbeddings(o.backbone, o.task.kind, shots.ids, shots.pair);
      const { task: k, similarities } = await pha.retrieve(x);
      x.dispose();
      retrieved = {
        task: src.tasks[k]!.name,
        similarities: Object.fromEntries(src.tasks.map((t, i) => [t.name, similarities[i]!])),
      };
      // Copy every shared variable; the new prototype table is the retrieved row.
      const dst = model.method.shared;
      for (const [name, v] of Object.entries(pha.shared)) {
        const into = dst[name];
        if (!into) throw new ConfigError('source', `has a variable ${name} the new model lacks`);
        if (name === 'hyper.task_embeddings') {
          const row = tf.slice(v, [k, 0], [1, -1]);
          into.assign(row);
          row.dispose();
        } else into.assign(v);
      }
      trainOnly = ['hyper.task_embeddings', ...Object.keys(model.heads[0]!)];
    }
    const trainer = new AdapterTrainer({
      model,
      tasks: [data],
      steps: o.steps,
      lr: o.lr,
      batchSize: o.batchSize ?? Math.min(32, o.task.train.labels.length),
      evalEvery: o.steps,
      seed,
      logEvery: o.steps,
      trainOnly,
    });
    try {
      await trainer.run();
      const acc = await trainer.accuracy(0, 'test');
      const all = model.variables();
      const trained = (trainOnly ?? Object.keys(all)).reduce((a, n) => a + all[n]!.size, 0);
      return {
        method: o.method,
        task: o.task.name,
        shots: o.task.train.labels.length,
        acc,
        retrieved,
        trained,
        seconds: (performance.now() - t0) / 1000,
      };
    } finally {
      trainer.dispose();
    }
  } finally {
    model.dispose();
  }
}

/**
 * `k` labelled examples of a split, as even across classes as the classes allow (⌊k/C⌋ of each,
 * the remainder to the first classes), drawn without replacement with a seeded Rng: the shots of
 * a few-shot run.
 */
export function sampleShots(split: TokenizedSplit, k: number, seed: number, classes: number): TokenizedSplit {
  if (!Number.isInteger(k) || k < classes)
    throw new ConfigError('shots', `must be an integer ≥ the ${classes} classes, got ${k}`);
  const rng = new Rng(seed);
  const byClass = Array.from({ length: classes }, () => [] as number[]);
  split.labels.forEach((l, i) => byClass[l]!.push(i));
  const rows: number[] = [];
  byClass.forEach((members, c) => {
    const want = Math.floor(k / classes) + (c < k % classes ? 1 : 0);
    if (members.length < want)
      throw new ConfigError(
        'shots',
        `class ${c} has ${members.length} training examples, fewer than the ${want} asked`,
      );
    const pool = members.slice();
    for (let i = 0; i < want; i++) {
      const j = rng.int(i, pool.length - 1);
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      rows.push(pool[i]!);
    }
  });
  return {
    ids: rows.map((r) => split.ids[r]!),
    pair: split.pair ? rows.map((r) => split.pair![r]!) : undefined,
    labels: Int32Array.from(rows, (r) => split.labels[r]!),
  };
}
