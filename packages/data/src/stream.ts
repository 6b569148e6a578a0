import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng } from '@hypernets/core';
import type { ImageSet } from './mnist.js';

/** One batch on the active backend. The caller owns the tensors (`disposeBatch`). */
export interface Batch {
  /** Inputs [B, D] float32 in [0, 1] (flattened, padded and permuted as the task says). */
  readonly x: tf.Tensor2D;
  /** Labels within the task, int32 [B] in [0, task.numOutputs) (multi-head / CL1, CL2). */
  readonly y: tf.Tensor1D;
  /** Labels over all tasks' classes, int32 [B] in [0, stream.totalClasses) (shared head, CL3). */
  readonly yGlobal: tf.Tensor1D;
  readonly size: number;
  readonly task: number;
}

export function disposeBatch(b: Batch): void {
  tf.dispose([b.x, b.y, b.yGlobal]);
}

/** Serialisable position of a BatchSampler (checkpoints store it; `sampler(…, state)` resumes). */
export interface SamplerState {
  /** Rng state at the start of the current epoch: replaying it rebuilds the epoch's order. */
  readonly epochRng: number[];
  readonly epoch: number;
  /** Samples of the current epoch already served. */
  readonly position: number;
}

/** Endless shuffled batches: each epoch is a fresh seeded permutation of the split. */
export interface BatchSampler {
  next(): Batch;
  getState(): SamplerState;
  readonly epoch: number;
}

export interface DataSplit {
  readonly size: number;
  /** The samples at these positions of the split, as one batch. */
  batch(positions: ArrayLike<number>): Batch;
  /** The whole split in order, in batches of `batchSize` (the last may be smaller): evaluation. */
  batches(batchSize: number): Generator<Batch>;
  /**
   * Training batches: shuffled per epoch by a seeded stream (a seed, or a saved state to
   * resume from), epoch after epoch. The last, partial batch of an epoch is not served:
   * every batch has `batchSize` samples, and the next epoch starts.
   */
  sampler(batchSize: number, seed: number | SamplerState): BatchSampler;
}

/**
 * How a task turns stored images into inputs: pixel j of the input reads stored pixel
 * `source[j]` (or is 0 where `source[j]` is −1, the padding), so padding and a permutation cost
 * one table per task, not a copy of the images.
 */
export interface InputTransform {
  readonly source: Int32Array;
}

/** Zero padding by `pad` pixels on every side, then an optional permutation of the padded pixels. */
export function padPermuteTransform(
  rows: number,
  cols: number,
  pad: number,
  permutation: Int32Array | null,
): InputTransform {
  const W = cols + 2 * pad;
  const H = rows + 2 * pad;
  const padded = new Int32Array(H * W).fill(-1);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) padded[(r + pad) * W + c + pad] = r * cols + c;
  if (!permutation) return { source: padded };
  if (permutation.length !== H * W)
    throw new ConfigError('permutation', `needs ${H * W} entries (a ${H}×${W} input), got ${permutation.length}`);
  // Permuted input j is padded pixel permutation[j] (numpy's x[:, perm]).
  const source = new Int32Array(H * W);
  for (let j = 0; j < source.length; j++) source[j] = padded[permutation[j]!]!;
  return { source };
}

export function checkBatchSize(batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new ConfigError('batchSize', `must be a positive integer, got ${batchSize}`);
  return batchSize;
}

/**
 * A split of one task: positions into an ImageSet, an input transform, and a label map
 * (global class → task-local output, −1 for classes the task does not have).
 */
export class ImageSplit implements DataSplit {
  readonly size: number;

  /** Every sample of `set`, in order, unpadded, labels as stored: plain (non-continual) training. */
  static all(set: ImageSet): ImageSplit {
    return ImageSplit.first(set, set.count);
  }

  /** The first `n` images of a set (all of them when n ≥ its count), unchanged, labels as stored. */
  static first(set: ImageSet, n: number): ImageSplit {
    if (!Number.isInteger(n) || n < 0) throw new ConfigError('ImageSplit.first', `n must be an integer ≥ 0, got ${n}`);
    const indices = Int32Array.from({ length: Math.min(n, set.count) }, (_, i) => i);
    const labels = Int32Array.from({ length: set.numClasses }, (_, c) => c);
    return new ImageSplit(set, indices, padPermuteTransform(set.rows, set.cols, 0, null), labels, 0);
  }

  constructor(
    readonly set: ImageSet,
    readonly indices: Int32Array,
    readonly transform: InputTransform,
    readonly localLabel: Int32Array,
    readonly task: number,
    /** Added to the stored label to get the global one (Permuted-MNIST: 10 per task). */
    readonly globalOffset = 0,
  ) {
    this.size = indices.length;
  }

  batch(positions: ArrayLike<number>): Batch {
    const B = positions.length;
    const D = this.transform.source.length;
    const pixels = this.set.rows * this.set.cols;
    const x = new Float32Array(B * D);
    const y = new Int32Array(B);
    const yg = new Int32Array(B);
    const src = this.transform.source;
    const images = this.set.images;
    for (let b = 0; b < B; b++) {
      const p = positions[b]!;
      if (!(p >= 0 && p < this.size))
        throw new ConfigError('positions', `position ${p} is outside this split of ${this.size} samples`);
      const i = this.indices[p]!;
      const base = i * pixels;
      const out = b * D;
      for (let j = 0; j < D; j++) {
        const s = src[j]!;
        x[out + j] = s < 0 ? 0 : images[base + s]! / 255;
      }
      const label = this.set.labels[i]!;
      yg[b] = label + this.globalOffset;
      y[b] = this.localLabel[label]!;
    }
    return {
      x: tf.tensor2d(x, [B, D]),
      y: tf.tensor1d(y, 'int32'),
      yGlobal: tf.tensor1d(yg, 'int32'),
      size: B,
      task: this.task,
    };
  }

  *batches(batchSize: number): Generator<Batch> {
    checkBatchSize(batchSize);
    for (let start = 0; start < this.size; start += batchSize) {
      const n = Math.min(batchSize, this.size - start);
      const pos = new Int32Array(n);
      for (let k = 0; k < n; k++) pos[k] = start + k;
      yield this.batch(pos);
    }
  }

  sampler(batchSize: number, seed: number | SamplerState): BatchSampler {
    checkBatchSize(batchSize);
    if (batchSize > this.size)
      throw new ConfigError('batchSize', `${batchSize} is larger than the split (${this.size} samples)`);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const split = this;
    let rng: Rng;
    let epochRng: number[];
    let order: Int32Array;
    let epoch: number;
    let position: number;
    const startEpoch = () => {
      epochRng = rng.getState();
      order = rng.permutation(split.size);
    };
    if (typeof seed === 'number') {
      rng = new Rng(seed);
      epoch = 0;
      position = 0;
      startEpoch();
    } else {
      if (!(seed.position >= 0 && seed.position <= split.size))
        throw new ConfigError(
          'sampler state',
          `position ${seed.position} is outside a split of ${split.size} samples: the state belongs to another split`,
        );
      rng = new Rng(seed.epochRng);
      epoch = seed.epoch;
      position = seed.position;
      startEpoch();
    }
    return {
      get epoch() {
        return epoch;
      },
      next(): Batch {
        if (position + batchSize > split.size) {
          epoch++;
          position = 0;
          startEpoch();
        }
        const b = split.batch(order.subarray(position, position + batchSize));
        position += batchSize;
        return b;
      },
      getState(): SamplerState {
        return { epochRng: [...epochRng], epoch, position };
      },
    };
  }
}

/** One task of a stream. */
export interface Task {
  readonly index: number;
  readonly name: string;
  /** Global classes of this task, in local-label order. */
  readonly classes: readonly number[];
  /** Outputs of this task's head (its number of classes). */
  readonly numOutputs: number;
  readonly train: DataSplit;
  /** Null when the stream was built without a validation set. */
  readonly val: DataSplit | null;
  readonly test: DataSplit;
}

/** A sequence of tasks (continual learning): same input size, tasks built on demand. */
export interface TaskStream {
  readonly name: string;
  readonly numTasks: number;
  /** Input shape of one sample ([D], flattened). */
  readonly inputSize: number;
  /** Outputs per task head. */
  readonly outputsPerTask: number;
  /** Classes over all tasks (the shared head of CL3). */
  readonly totalClasses: number;
  task(index: number): Task;
}

export function checkTaskIndex(stream: { name: string; numTasks: number }, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= stream.numTasks)
    throw new ConfigError(
      'task',
      `${stream.name} has ${stream.numTasks} tasks; task ${index} is not in [0, ${stream.numTasks - 1}]`,
    );
}
