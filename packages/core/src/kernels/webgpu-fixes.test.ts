/**
 * Rank ≥ 5 on webgpu (webgpu-fixes.ts): each wrapped op, forward and where it matters its
 * gradient, equals cpu; StridedSlice with strides at rank 5 throws UnsupportedOpError. Without
 * the wrappers PadV2/MirrorPad return garbage (a WGSL compile error is only logged), Tile throws
 * a ReferenceError from a sync read, Reverse/Cumsum/Select throw untyped errors. Skipped without a
 * WebGPU adapter, except under CI=true (see ../backend/webgpu.test.ts).
 */
import { expect, it } from 'vitest';
import { webgpuSuite } from '@hypernets/vitest-preset/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { BackendUnavailableError, UnsupportedOpError } from '../errors/index.js';
import { releaseWebgpu, startWebgpu } from '../backend/webgpu.js';
import { registerTfjsGradients } from '../tfjs-setup.js';
import { WEBGPU_FIXED_KERNELS } from './webgpu-fixes.js';

await registerTfjsGradients(); // as initBackend does (core's rank-agnostic Tile gradient among them)
const { describeWebgpu } = await webgpuSuite('webgpu-fixes.test', startWebgpu, {
  unavailable: (e) => e instanceof BackendUnavailableError,
  release: releaseWebgpu,
  env: () => tf.env(),
});

const SHAPE = [2, 3, 2, 4, 3];
const VALUES = Float32Array.from({ length: 144 }, (_, i) => Math.sin(1.7 * i) * 2);

/** f on a fresh x (GPU-resident on webgpu: the result of an op, not an upload). */
async function on(backend: string, f: (x: tf.Tensor) => tf.Tensor): Promise<{ values: Float32Array; shape: number[] }> {
  expect(await tf.setBackend(backend)).toBe(true);
  const before = tf.memory().numTensors;
  const x0 = tf.tensor(VALUES, SHAPE);
  const x = tf.mul(x0, 1); // computed on the device
  const y = tf.tidy(() => f(x));
  const out = { values: Float32Array.from(await y.data()), shape: y.shape };
  tf.dispose([x0, x, y]);
  expect(tf.memory().numTensors, `${backend}: leaked tensors`).toBe(before);
  return out;
}

const CASES: [string, (x: tf.Tensor) => tf.Tensor][] = [
  [
    'pad',
    (x) =>
      tf.pad(
        x,
        [
          [0, 1],
          [0, 0],
          [2, 0],
          [1, 1],
          [0, 2],
        ],
        0.5,
      ),
  ],
  [
    'gradient of slice (a PadV2)',
    (x) => tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.slice(a, [1, 0, 0, 1, 0], [1, 3, 2, 2, 3]))))(x),
  ],
  [
    'mirrorPad reflect',
    (x) =>
      tf.mirrorPad(
        x,
        [
          [0, 0],
          [1, 1],
          [0, 0],
          [2, 1],
          [1, 1],
        ],
        'reflect',
      ),
  ],
  [
    'mirrorPad symmetric',
    (x) =>
      tf.mirrorPad(
        x,
        [
          [1, 0],
          [0, 0],
          [0, 0],
          [0, 0],
          [0, 1],
        ],
        'symmetric',
      ),
  ],
  ['tile', (x) => tf.tile(x, [1, 2, 1, 1, 3])],
  ['broadcastTo', (x) => tf.broadcastTo(tf.slice(x, [0, 0, 0, 0, 0], [2, 1, 2, 4, 3]), [2, 3, 2, 4, 3])],
  [
    'gradient of broadcastTo',
    (x) =>
      tf.grad((a: tf.Tensor) =>
        tf.sum(tf.square(tf.broadcastTo(tf.slice(a, [0, 0, 0, 0, 0], [2, 1, 2, 4, 3]), [2, 3, 2, 4, 3]))),
      )(x),
  ],
  ['reverse', (x) => tf.reverse(x, [1, 3])],
  ['cumsum', (x) => tf.cumsum(x, 3, false, true)],
  ['where', (x) => tf.where(tf.greater(x, 0), x, tf.mul(x, -3))],
  ['stridedSlice (simple)', (x) => tf.stridedSlice(x, [0, 1, 0, 0, 0], [2, 3, 2, 4, 3], [1, 1, 1, 1, 1])],
];

describeWebgpu('webgpu kernel fixes: many-input AddN, rank ≥ 5, sync reads', () => {
  it('the wrapped kernels are registered', () => {
    for (const k of WEBGPU_FIXED_KERNELS) expect(tf.getKernel(k, 'webgpu'), k).toBeDefined();
  });

  for (const [name, f] of CASES)
    it(name, async () => {
      const gpu = await on('webgpu', f);
      const cpu = await on('cpu', f);
      expect(gpu.shape).toEqual(cpu.shape);
      let err = 0;
      gpu.values.forEach((v, i) => (err = Math.max(err, Math.abs(v - cpu.values[i]!))));
      expect(err, name).toBeLessThan(1e-5);
    });

  it('addN of 2 … 23 tensors (more than a program binds)', async () => {
    for (const backend of ['webgpu', 'cpu']) {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      for (const n of [2, 7, 8, 9, 15, 23]) {
        const y = tf.tidy(() => tf.addN(Array.from({ length: n }, (_, i) => tf.mul(tf.ones([3, 5]), i + 1))));
        expect(Array.from(await y.data()), `${backend} addN of ${n}`).toEqual(new Array(15).fill((n * (n + 1)) / 2));
        y.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('a kernel that would read GPU data synchronously: UnsupportedOpError, not a ReferenceError from tfjs', async () => {
    await tf.setBackend('webgpu');
    const data = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const indices = tf.tensor1d([0, 1, 2], 'int32');
    const segments = tf.add(tf.tensor1d([0, 0, 1], 'int32'), tf.scalar(0, 'int32')) as tf.Tensor1D; // computed on the GPU
    expect(() => tf.sparse.sparseSegmentSum(data, indices, segments)).toThrow(UnsupportedOpError);
    expect(() => tf.sparse.sparseSegmentSum(data, indices, segments)).toThrow(
      /SparseSegmentSum is not supported on backend 'webgpu'.*synchronously/,
    );
    tf.dispose([data, indices, segments]);
  });

  it('stridedSlice with strides at rank 5: UnsupportedOpError, not garbage', async () => {
    await tf.setBackend('webgpu');
    const x = tf.tensor(VALUES, SHAPE);
    expect(() => tf.stridedSlice(x, [0, 0, 0, 0, 0], [2, 3, 2, 4, 3], [1, 1, 1, 2, 1])).toThrow(UnsupportedOpError);
    expect(() => tf.stridedSlice(x, [0, 0, 0, 0, 0], [2, 3, 2, 4, 3], [1, 1, 1, 2, 1])).toThrow(
      /StridedSlice .*webgpu.*rank-5/,
    );
    // rank 4 still runs webgpu's own kernel
    const y = tf.stridedSlice(tf.reshape(x, [6, 2, 4, 3]), [0, 0, 0, 0], [6, 2, 4, 3], [2, 1, 2, 1]);
    expect(y.shape).toEqual([3, 2, 2, 3]);
    tf.dispose([x, y]);
  });
});
