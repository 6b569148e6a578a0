import { ConfigError, Rng } from '@hypernets/core';
import { loadMnist, type ImageSet, type Mnist } from './mnist.js';
import {
  ImageSplit,
  checkTaskIndex,
  padPermuteTransform,
  type InputTransform,
  type Task,
  type TaskStream,
} from './stream.js';

function checkCount(field: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new ConfigError(field, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function range(n: number, from = 0): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = from + i;
  return a;
}

/** Validation = the first `valSize` training samples (of the task), as hypnettorch does; train the rest. */
function splitVal(indices: Int32Array, valSize: number, owner: string): { train: Int32Array; val: Int32Array | null } {
  if (valSize === 0) return { train: indices, val: null };
  if (valSize >= indices.length)
    throw new ConfigError(
      'valSize',
      `${owner}: a validation set of ${valSize} leaves no training samples (the task has ${indices.length})`,
    );
  return { train: indices.subarray(valSize), val: indices.subarray(0, valSize) };
}

export interface PermutedMnistOptions {
  numTasks: number;
  /** Seed of the permutations (task 0 is the unpermuted image, as in hypnettorch). Default 42. */
  seed?: number;
  /** Zero padding per side before permuting. Default 2 (32×32 = 1024 inputs, as in the paper). */
  padding?: number;
  /** Validation samples taken from the start of the training set. Default 0. */
  valSize?: number;
}

/**
 * Permuted-MNIST (Goodfellow et al. 2013; von Oswald et al. 2020's PermutedMNIST-10/100):
 * task t classifies all ten digits with the pixels of the padded image shuffled by a fixed
 * permutation π_t (π_0 = identity). Permutations are applied on the fly when a batch is built,
 * so 100 tasks share one copy of the images (a 1,024-entry table per task).
 */
export class PermutedMnist implements TaskStream {
  readonly name: string;
  readonly numTasks: number;
  readonly inputSize: number;
  readonly outputsPerTask = 10;
  readonly totalClasses: number;
  readonly padding: number;
  readonly seed: number;
  private readonly transforms: InputTransform[] = [];
  private readonly permutations: (Int32Array | null)[] = [];
  private readonly splits: { train: Int32Array; val: Int32Array | null; test: Int32Array };
  private readonly identity = Int32Array.from({ length: 10 }, (_, i) => i);

  constructor(
    readonly data: Mnist,
    options: PermutedMnistOptions,
  ) {
    this.numTasks = checkCount('numTasks', options.numTasks);
    this.padding = checkCount('padding', options.padding ?? 2, 0);
    this.seed = options.seed ?? 42;
    const valSize = checkCount('valSize', options.valSize ?? 0, 0);
    this.name = `permuted-mnist-${this.numTasks}`;
    this.totalClasses = 10 * this.numTasks;
    const { rows, cols } = data.train;
    const H = rows + 2 * this.padding;
    const W = cols + 2 * this.padding;
    this.inputSize = H * W;
    const rng = new Rng(this.seed);
    for (let t = 0; t < this.numTasks; t++) {
      const perm = t === 0 ? null : rng.permutation(H * W);
      this.permutations.push(perm);
      this.transforms.push(padPermuteTransform(rows, cols, this.padding, perm));
    }
    this.splits = { ...splitVal(range(data.train.count), valSize, this.name), test: range(data.test.count) };
  }

  /** The permutation of task t (input j reads padded pixel permutation[j]); identity for t = 0. */
  permutation(t: number): Int32Array {
    checkTaskIndex(this, t);
    const p = this.permutations[t];
    return p ? Int32Array.from(p) : Int32Array.from({ length: this.inputSize }, (_, j) => j);
  }

  task(index: number): Task {
    checkTaskIndex(this, index);
    const tr = this.transforms[index]!;
    // Global label of digit d in task t is 10t + d (the shared head of CL3 grows by 10 per task).
    const mk = (set: ImageSet, idx: Int32Array) => new ImageSplit(set, idx, tr, this.identity, index, 10 * index);
    return {
      index,
      name: `permutation ${index}`,
      classes: Array.from({ length: 10 }, (_, d) => 10 * index + d),
      numOutputs: 10,
      train: mk(this.data.train, this.splits.train),
      val: this.splits.val ? mk(this.data.train, this.splits.val) : null,
      test: mk(this.data.test, this.splits.test),
    };
  }

  static async load(options: PermutedMnistOptions & { dir?: string }): Promise<PermutedMnist> {
    return new PermutedMnist(await loadMnist({ dir: options.dir }), options);
  }
}

export interface SplitMnistOptions {
  /** Default 5 (digits 0/1, 2/3, 4/5, 6/7, 8/9). */
  numTasks?: number;
  /** Default 2. numTasks · classesPerTask ≤ 10. */
  classesPerTask?: number;
  /** Validation samples per task, from the start of its training samples. Default 0. */
  valSize?: number;
}

/**
 * Split-MNIST (Zenke et al. 2017): task t holds digits [t·k, …, t·k + k − 1] (k = classesPerTask),
 * labelled 0 … k−1 within the task (`y`) and by digit over all tasks (`yGlobal`).
 */
export class SplitMnist implements TaskStream {
  readonly name: string;
  readonly numTasks: number;
  readonly inputSize: number;
  readonly outputsPerTask: number;
  readonly totalClasses: number;
  private readonly tasks: Task[] = [];

  constructor(
    readonly data: Mnist,
    options: SplitMnistOptions = {},
  ) {
    this.numTasks = checkCount('numTasks', options.numTasks ?? 5);
    const k = checkCount('classesPerTask', options.classesPerTask ?? 2);
    if (this.numTasks * k > data.train.numClasses)
      throw new ConfigError(
        'numTasks',
        `${this.numTasks} tasks × ${k} classes exceed MNIST's ${data.train.numClasses} classes`,
      );
    const valSize = checkCount('valSize', options.valSize ?? 0, 0);
    this.outputsPerTask = k;
    this.totalClasses = this.numTasks * k;
    this.name = `split-mnist-${this.numTasks}`;
    this.inputSize = data.train.rows * data.train.cols;
    const transform = padPermuteTransform(data.train.rows, data.train.cols, 0, null);
    const of = (set: ImageSet, classes: number[]) => {
      const out: number[] = [];
      for (let i = 0; i < set.count; i++) if (classes.includes(set.labels[i]!)) out.push(i);
      return Int32Array.from(out);
    };
    for (let t = 0; t < this.numTasks; t++) {
      const classes = Array.from({ length: k }, (_, j) => t * k + j);
      const local = new Int32Array(data.train.numClasses).fill(-1);
      classes.forEach((c, j) => (local[c] = j));
      const { train, val } = splitVal(of(data.train, classes), valSize, `${this.name} task ${t}`);
      const mk = (set: ImageSet, idx: Int32Array) => new ImageSplit(set, idx, transform, local, t, 0);
      this.tasks.push({
        index: t,
        name: `digits ${classes.join('/')}`,
        classes,
        numOutputs: k,
        train: mk(data.train, train),
        val: val ? mk(data.train, val) : null,
        test: mk(data.test, of(data.test, classes)),
      });
    }
  }

  task(index: number): Task {
    checkTaskIndex(this, index);
    return this.tasks[index]!;
  }

  static async load(options: SplitMnistOptions & { dir?: string } = {}): Promise<SplitMnist> {
    return new SplitMnist(await loadMnist({ dir: options.dir }), options);
  }
}
