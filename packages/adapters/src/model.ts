import * as tf from '@tensorflow/tfjs-core';
import {
  CheckpointError,
  ConfigError,
  Rng,
  countParams,
  loadCheckpoint,
  restoreVariables,
  saveCheckpoint,
} from '@hypernets/core';
import { UseLite } from './backbone/load.js';
import type { TokenizedSplit } from './tasks.js';
import { applyHead, headFeatures, headInputWidth, headVariables, type TaskKind } from './heads.js';
import { createMethod, type MethodOptions } from './methods/create.js';
import {
  METHOD_NAMES,
  methodParams,
  type AdapterMethod,
  type Backbone,
  type MethodForward,
  type MethodName,
} from './methods/method.js';

/** What a model knows about each task besides its data. */
export interface TaskInfo {
  readonly name: string;
  readonly kind: TaskKind;
  readonly labels: readonly string[];
  /** Hyper-X's domain id; default 0. */
  readonly domain?: number;
  /**
   * The task factor (Hyper-X): tasks of one family (the same task in several domains) share a
   * head and, in the generated methods, a task embedding, so an unseen (family, domain) pair can
   * be classified zero-shot. They must share kind and labels. Default: the task's own name.
   */
  readonly family?: string;
}

/** What a model is built with: the method's options, and the token budget its texts are clipped to. */
export interface ModelOptions extends MethodOptions {
  /** Tokens per text the model was trained with; `predict` clips to it. Default the encoder's 128. */
  maxTokens?: number;
}

export interface Prediction {
  readonly label: string;
  readonly index: number;
  readonly probabilities: number[];
}

/**
 * A multi-task text classifier: the backbone, a method that adapts it, and one linear head per
 * family of tasks (each task is its own family unless told otherwise). Its variables have stable
 * names: the method's (`hyper.*`, `adapters.<t>.*`, `backbone.*`) and `heads.<f>.{weight,bias}`
 * (f the family's index: the task's when every task is its own); `save`/`load` write and read them with the
 * method, its options and the tasks, so `hypernets adapters predict` rebuilds the same model.
 */
export class AdapterModel {
  /** One head per family, in family order. */
  readonly heads: Record<string, tf.Variable>[];
  /** Family names, in order of first appearance among the tasks. */
  readonly families: readonly string[];
  /** The family index of each task. */
  readonly familyOf: readonly number[];
  /** Tokens per text `predict` keeps (the training budget). */
  readonly maxTokens: number;

  constructor(
    readonly backbone: Backbone,
    readonly method: AdapterMethod,
    readonly tasks: readonly TaskInfo[],
    readonly options: ModelOptions = {},
    seed = 0,
  ) {
    const max = backbone.net.constants.maxLength;
    this.maxTokens = options.maxTokens ?? max;
    if (!Number.isInteger(this.maxTokens) || this.maxTokens < 1 || this.maxTokens > max)
      throw new ConfigError('maxTokens', `must be an integer in [1, ${max}], got ${options.maxTokens}`);
    const names = tasks.map((t) => t.name);
    if (names.length === 0) throw new ConfigError('tasks', 'needs at least one task');
    if (new Set(names).size !== names.length) throw new ConfigError('tasks', `task names repeat: ${names.join(', ')}`);
    const { families, familyOf } = familiesOf(tasks);
    this.families = families;
    this.familyOf = familyOf;
    const rng = new Rng(seed).fork(); // heads: independent of the training stream
    const width = backbone.net.outputShape[0]!;
    this.heads = families.map((_, f) => {
      const t = tasks[familyOf.indexOf(f)]!;
      return headVariables(f, headInputWidth(width, t.kind), t.labels.length, rng);
    });
  }

  /** Builds the method by name for these tasks (see createMethod), then the model. */
  static create(
    backbone: Backbone,
    method: MethodName,
    tasks: readonly TaskInfo[],
    options: ModelOptions = {},
    seed = 0,
  ): AdapterModel {
    const m = createMethod(
      method,
      {
        backbone,
        tasks: tasks.map((t) => t.name),
        domains: tasks.map((t) => t.domain ?? 0),
        families: familiesOf(tasks).familyOf,
        rng: new Rng(seed),
      },
      options,
    );
    return new AdapterModel(backbone, m, tasks, options, seed);
  }

  taskIndex(name: string): number {
    const t = this.tasks.findIndex((x) => x.name === name);
    if (t < 0)
      throw new ConfigError(
        'task',
        `unknown task ${JSON.stringify(name)}; one of ${this.tasks.map((x) => x.name).join(', ')}`,
      );
    return t;
  }

  /** Tasks in family f. */
  private familySize(f: number): number {
    return this.familyOf.filter((x) => x === f).length;
  }

  /** Variables every task's batches may train: the method's shared ones and the heads of families of several tasks. */
  sharedVariables(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = { ...this.method.shared };
    this.heads.forEach((h, f) => this.familySize(f) > 1 && Object.assign(out, h));
    return out;
  }

  /** Task t's own variables (and its head when its family is itself alone), by stable name. */
  taskVariables(t: number): Record<string, tf.Variable> {
    const f = this.familyOf[t]!;
    return { ...this.method.taskVariables(t), ...(this.familySize(f) === 1 ? this.heads[f]! : {}) };
  }

  /** Every trainable variable by stable name. */
  variables(): Record<string, tf.Variable> {
    const out = this.sharedVariables();
    this.tasks.forEach((_, t) => Object.assign(out, this.taskVariables(t)));
    return out;
  }

  /**
   * Logits [N, classes] of task t for token sequences (pairs: `pair` holds the second texts'),
   * run with `fwd` (default the method's forward for t). Call inside a tape to train.
   */
  logits(
    t: number,
    ids: readonly (readonly number[])[],
    pair?: readonly (readonly number[])[],
    fwd: MethodForward = this.method.forward(t),
  ): tf.Tensor2D {
    const task = this.tasks[t]!;
    const seqs = task.kind === 'pair' ? [...ids, ...(pair ?? [])] : [...ids];
    if (task.kind === 'pair' && pair?.length !== ids.length)
      throw new ConfigError('pair', `task ${task.name} takes text pairs: give as many second texts as first texts`);
    const padded = UseLite.pad(seqs);
    try {
      const emb = this.backbone.net.forward(padded, fwd.weights, { sublayerHook: fwd.hook }) as tf.Tensor2D;
      const f = this.familyOf[t]!;
      return applyHead(headFeatures(emb, task.kind), this.heads[f]!, f);
    } finally {
      padded.dispose();
    }
  }

  /** The frozen backbone's sentence embeddings of task t's inputs (see {@link frozenEmbeddings}). */
  frozenEmbeddings(t: number, ids: readonly (readonly number[])[], pair?: readonly (readonly number[])[]): tf.Tensor2D {
    return frozenEmbeddings(this.backbone, this.tasks[t]!.kind, ids, pair);
  }

  /** Class probabilities and the predicted label of each text (pairs: `texts[i]` with `pairs[i]`). */
  async predict(task: string, texts: readonly string[], pairs?: readonly string[]): Promise<Prediction[]> {
    const t = this.taskIndex(task);
    const info = this.tasks[t]!;
    if (info.kind === 'pair' && pairs?.length !== texts.length)
      throw new ConfigError('pairs', `task ${task} classifies text pairs: give one second text per text`);
    const tok = (xs: readonly string[]) => this.backbone.tokenize(xs).map((s) => s.slice(0, this.maxTokens));
    const probs = tf.tidy(() => tf.softmax(this.logits(t, tok(texts), pairs ? tok(pairs) : undefined)));
    const p = (await probs.array()) as number[][];
    probs.dispose();
    return p.map((row) => {
      const index = row.indexOf(Math.max(...row));
      return { label: info.labels[index]!, index, probabilities: row };
    });
  }

  /**
   * Accuracy of task t's head on a split (examples sorted by length, so batches pad little).
   * `forward` builds what each batch runs with (default the method's for t); it is called
   * inside the batch's tidy, so generated adapters are freed with the batch.
   */
  async accuracy(t: number, split: TokenizedSplit, forward?: () => MethodForward, batch = 64): Promise<number> {
    const n = split.labels.length;
    const len = (i: number) => split.ids[i]!.length + (split.pair?.[i]?.length ?? 0);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => len(a) - len(b));
    const make = forward ?? (() => this.method.forward(t));
    const pair = split.pair;
    let correct = 0;
    for (let at = 0; at < n; at += batch) {
      const rows = order.slice(at, at + batch);
      const pred = tf.tidy(() =>
        tf.argMax(
          this.logits(
            t,
            rows.map((i) => split.ids[i]!),
            pair ? rows.map((i) => pair[i]!) : undefined,
            make(),
          ),
          1,
        ),
      );
      const p = (await pred.data()) as Int32Array;
      pred.dispose();
      rows.forEach((r, i) => (correct += p[i] === split.labels[r] ? 1 : 0));
    }
    return correct / n;
  }

  /**
   * Zero-shot accuracy on a (family, domain) pair no task of the model is: the family's head,
   * with the method's adapters for that pair (Hyper-X generates them from the family's task
   * embedding and the domain's embedding; methods without `forwardFor` run their forward for a
   * task of the family, e.g. the linear probe's frozen backbone).
   */
  async zeroShotAccuracy(family: string, domain: number, split: TokenizedSplit, batch = 64): Promise<number> {
    const f = this.families.indexOf(family);
    if (f < 0)
      throw new ConfigError('family', `unknown family ${JSON.stringify(family)}; one of ${this.families.join(', ')}`);
    const t = this.familyOf.indexOf(f);
    const m = this.method;
    return this.accuracy(t, split, m.forwardFor ? () => m.forwardFor!(t, domain) : undefined, batch);
  }

  /** Trainable scalars: backbone, shared, each task's own and heads, and per-task totals. */
  paramCounts(): ParamCounts {
    const T = this.tasks.length;
    const m = methodParams(this.method, T);
    const byFamily = this.heads.map((h) => Object.values(h).reduce((a, v) => a + v.size, 0));
    const heads = this.familyOf.map((f) => byFamily[f]!);
    const own = m.perTask.reduce((a, b) => a + b, 0);
    return {
      backbone: countParams(this.backbone.net.params),
      shared: m.shared,
      perTask: m.perTask,
      heads,
      trainablePerTask: (m.shared + own + byFamily.reduce((a, b) => a + b, 0)) / T,
      methodPerTask: (m.shared + own) / T,
    };
  }

  /** Writes the variables with the method, its options and the tasks (`<path>.safetensors` + `.json`, atomically). */
  async save(path: string): Promise<void> {
    await saveCheckpoint(path, {
      tensors: this.variables(),
      meta: {
        adapterModel: {
          method: this.method.name,
          options: { ...this.options, maxTokens: this.maxTokens },
          tasks: this.tasks.map((t) => ({
            name: t.name,
            kind: t.kind,
            labels: [...t.labels],
            domain: t.domain ?? 0,
            family: t.family ?? t.name,
          })),
        },
      },
    });
  }

  /** Reads a model `save` wrote, onto `backbone`; every name and shape is checked before any is assigned. */
  static async load(path: string, backbone: Backbone): Promise<AdapterModel> {
    const ck = await loadCheckpoint(path);
    try {
      const m = ck.meta.adapterModel as { method?: unknown; options?: unknown; tasks?: unknown } | undefined;
      const tasks = m?.tasks;
      const okTasks =
        Array.isArray(tasks) &&
        tasks.length > 0 &&
        tasks.length <= 1000 &&
        tasks.every(
          (t: TaskInfo) =>
            t &&
            typeof t.name === 'string' &&
            (t.kind === 'single' || t.kind === 'pair') &&
            Array.isArray(t.labels) &&
            t.labels.length >= 2 &&
            t.labels.every((l) => typeof l === 'string') &&
            Number.isInteger(t.domain ?? 0) &&
            (t.family === undefined || typeof t.family === 'string'),
        );
      if (
        !m ||
        !METHOD_NAMES.includes(m.method as MethodName) ||
        !okTasks ||
        typeof m.options !== 'object' ||
        m.options === null
      )
        throw new CheckpointError(
          ck.paths.meta,
          'is not an adapters model (no valid `adapterModel` method, options and tasks)',
        );
      const model = AdapterModel.create(
        backbone,
        m.method as MethodName,
        tasks as TaskInfo[],
        m.options as ModelOptions,
      );
      try {
        restoreVariables(ck, model.variables());
      } catch (e) {
        model.dispose();
        throw e;
      }
      return model;
    } finally {
      ck.dispose();
    }
  }

  dispose(): void {
    for (const h of this.heads) tf.dispose(Object.values(h));
    this.method.dispose();
  }
}

/**
 * The frozen backbone's sentence embeddings [N, D] (its pretrained weights, no adapters) of
 * token sequences; pairs: the mean of the two texts' embeddings. PHA's retriever reads these.
 */
export function frozenEmbeddings(
  backbone: Backbone,
  kind: TaskKind,
  ids: readonly (readonly number[])[],
  pair?: readonly (readonly number[])[],
): tf.Tensor2D {
  if (kind === 'pair' && pair?.length !== ids.length)
    throw new ConfigError('pair', 'a pair task takes as many second texts as first texts');
  const padded = UseLite.pad(kind === 'pair' ? [...ids, ...pair!] : [...ids]);
  try {
    return tf.tidy(() => {
      const emb = backbone.net.forward(padded, backbone.weights) as tf.Tensor2D;
      if (kind === 'single') return emb;
      const n = ids.length;
      return tf.div(tf.add(tf.slice(emb, [0, 0], [n, -1]), tf.slice(emb, [n, 0], [n, -1])), 2) as tf.Tensor2D;
    });
  } finally {
    padded.dispose();
  }
}

/** Family names in order of first appearance and each task's family index; tasks of one family must share kind and labels. */
function familiesOf(tasks: readonly TaskInfo[]): { families: string[]; familyOf: number[] } {
  const families: string[] = [];
  const familyOf = tasks.map((t) => {
    const name = t.family ?? t.name;
    let f = families.indexOf(name);
    if (f < 0) f = families.push(name) - 1;
    return f;
  });
  tasks.forEach((t, i) => {
    const first = tasks[familyOf.indexOf(familyOf[i]!)]!;
    if (first.kind !== t.kind || first.labels.join('\n') !== t.labels.join('\n'))
      throw new ConfigError(
        'tasks',
        `${t.name} and ${first.name} are of family ${families[familyOf[i]!]} (one head) but differ in kind or labels`,
      );
  });
  return { families, familyOf };
}

export interface ParamCounts {
  backbone: number;
  /** Trained for every task (hypernetworks, a fine-tuned backbone). */
  shared: number;
  /** Each task's own, heads excluded (per-task adapters). */
  perTask: number[];
  /** The size of each task's head (tasks of one family share theirs). */
  heads: number[];
  /** (shared + Σ own + Σ distinct heads) / tasks. */
  trainablePerTask: number;
  /** (shared + Σ own) / tasks: what the method adds to the backbone, heads excluded. */
  methodPerTask: number;
}
