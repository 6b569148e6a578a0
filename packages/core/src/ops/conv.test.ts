/**
 * Per-sample convolution. Why 'im2col' is the default and 'depthwise' is used on wasm only when
 * core registers its gradient kernels — measured on 2 cores, Node 20, tfjs 4.22, per-sample
 * 3×3 'same' conv, forward (fwd+bwd where the backend has every gradient kernel):
 *
 *   backend  case                        im2col            depthwise          loop of B tf.conv2d
 *   wasm     B=32 32×32 16→16             535 (1525) ms     77 ms (no grad)    66 ms (no grad)
 *   wasm     B=32 16×16 16→32 stride 2     61 (227) ms      25 ms              25 ms
 *   wasm     B=32 8×8 64→64               264 (702) ms     157 ms             111 ms
 *   wasm     B=128 8×8 16→16              168 (450) ms      62 ms              44 ms
 *   cpu      B=32 32×32 16→16             819 (2792) ms   1493 (26709) ms     494 ms
 *   cpu      B=32 8×8 64→64               335 (1099) ms   1361 (23290) ms     560 ms
 *   cpu      B=128 8×8 16→16              175 (543) ms     332 (5661) ms      150 ms
 *
 * On wasm, GatherV2 and BatchMatMul with batch > 1 are scalar loops and Slice copies its whole
 * input (readSync) per call, so im2col is slow there; XNNPACK runs the depthwise conv. The
 * depthwise gradients (DepthwiseConv2dNativeBackprop*) do not exist on wasm until core
 * registers them, hence 'auto' checks the registry. On cpu the depthwise gradients are ~10x
 * slower than im2col's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { assertNoLeaks } from '../memory.js';
import { ConfigError } from '../errors/index.js';
import { conv2d, convGeometry, convSpecs, resolvePerSampleConvMethod, type Padding } from './conv.js';
import { globalAvgPool, pool2d, subsample2 } from './pool.js';
import { finiteDifferenceError, maxAbsDiff, useCpu } from '../testing/nets.js';

const CASES: [number, number, number, number, Padding][] = [
  // h, w, kernel, stride, padding
  [8, 8, 3, 1, 'same'],
  [8, 8, 3, 2, 'same'],
  [7, 9, 3, 2, 'same'],
  [8, 8, 3, 2, 1],
  [7, 7, 5, 2, 'valid'],
  [9, 6, 3, 3, 'same'],
  [8, 8, 1, 2, 'valid'],
  [6, 6, 4, 2, 'same'],
  [5, 5, 3, 1, 2],
  [4, 4, 1, 1, 'valid'],
];

describe('conv2d', () => {
  beforeAll(useCpu);

  it('computes TensorFlow and PyTorch output geometry', () => {
    expect(convGeometry(32, 32, 3, 1, 'same')).toEqual({ outH: 32, outW: 32, pad: [1, 1, 1, 1] });
    // TF 'same' with stride 2 on an even size pads bottom/right only; PyTorch padding=1 pads both.
    expect(convGeometry(32, 32, 3, 2, 'same')).toEqual({ outH: 16, outW: 16, pad: [0, 1, 0, 1] });
    expect(convGeometry(32, 32, 3, 2, 1)).toEqual({ outH: 16, outW: 16, pad: [1, 1, 1, 1] });
    expect(convGeometry(28, 28, 5, 1, 'valid')).toEqual({ outH: 24, outW: 24, pad: [0, 0, 0, 0] });
    expect(() => convGeometry(3, 3, 5, 1, 'valid')).toThrow(ConfigError);
    expect(() => convGeometry(3, 3, 3, 0, 'valid')).toThrow(/positive integers/);
  });

  it('builds conv ParamSpecs with tfjs layout and fans', () => {
    const [w, b] = convSpecs('conv1', 5, 3, 8, 0, 'relu');
    expect(w).toMatchObject({
      name: 'conv1.weight',
      shape: [5, 5, 3, 8],
      kind: 'weight',
      fanIn: 75,
      fanOut: 200,
      activation: 'relu',
    });
    expect(b).toMatchObject({ name: 'conv1.bias', shape: [8], kind: 'bias' });
    expect(convSpecs('c', 3, 4, 4, 1, 'relu', false)).toHaveLength(1);
  });

  it('shared kernels match tf.conv2d, explicit padding included', () => {
    const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 1);
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2);
    const b = tf.randomNormal([4], 0, 1, 'float32', 3);
    const ref = tf.add(
      tf.conv2d(
        tf.pad(x, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]) as tf.Tensor4D,
        w as tf.Tensor4D,
        2,
        'valid',
      ),
      b,
    );
    expect(maxAbsDiff(conv2d(x, w, b, { stride: 2, padding: 1 }), ref)).toBeLessThan(1e-6);
    expect(
      maxAbsDiff(
        conv2d(x, w, b, { padding: 'same' }),
        tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b),
      ),
    ).toBe(0);
    tf.dispose([x, w, b, ref]);
  });

  for (const method of ['im2col', 'depthwise'] as const)
    it(`per-sample kernels (${method}) equal the one-at-a-time loop, forward and gradients`, async ({ annotate }) => {
      let worstF = 0;
      let worstG = 0;
      for (const [h, w, k, s, p] of CASES) {
        tf.tidy(() => {
          const B = 3;
          const cin = 2;
          const cout = 4;
          const x = tf.randomNormal([B, h, w, cin], 0, 1, 'float32', 1);
          const wt = tf.randomNormal([B, k, k, cin, cout], 0, 1, 'float32', 2);
          const bias = tf.randomNormal([B, cout], 0, 1, 'float32', 4);
          const opts = { stride: s, padding: p, method };
          const y = conv2d(x, wt, bias, opts);
          const probe = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
          const loss = (a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
            tf.sum(tf.mul(tf.tanh(conv2d(a, ww, bb, opts)), probe));
          const g = tf.grads(loss)([x, wt, bias]);
          for (let i = 0; i < B; i++) {
            const xi = tf.slice(x, [i], [1]);
            const wi = tf.reshape(tf.slice(wt, [i], [1]), [k, k, cin, cout]);
            const bi = tf.reshape(tf.slice(bias, [i], [1]), [cout]);
            const pi = tf.slice(probe, [i], [1]);
            const yi = conv2d(xi, wi, bi, { stride: s, padding: p });
            worstF = Math.max(worstF, maxAbsDiff(tf.slice(y, [i], [1]), yi));
            const gi = tf.grads((a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
              tf.sum(tf.mul(tf.tanh(conv2d(a, ww, bb, { stride: s, padding: p })), pi)),
            )([xi, wi, bi]);
            gi.forEach((gk, j) => {
              worstG = Math.max(worstG, maxAbsDiff(tf.reshape(tf.slice(g[j], [i], [1]), gk.shape), gk));
            });
          }
        });
      }
      await annotate(
        `per-sample conv (${method}) vs loop: forward ${worstF.toExponential(2)}, grads ${worstG.toExponential(2)}`,
      );
      expect(worstF).toBeLessThan(1e-5);
      expect(worstG).toBeLessThan(1e-5);
    });

  it("'auto' picks im2col on cpu", () => {
    expect(resolvePerSampleConvMethod('auto')).toBe('im2col');
    expect(resolvePerSampleConvMethod('depthwise')).toBe('depthwise');
  });

  it('gradients match finite differences (shared and per-sample kernels)', () => {
    const x = tf.randomNormal([2, 5, 5, 2], 0, 1, 'float32', 11);
    const shared = tf.randomNormal([3, 3, 2, 3], 0, 0.5, 'float32', 12);
    const perSample = tf.randomNormal([2, 3, 3, 2, 3], 0, 0.5, 'float32', 13);
    const probe = tf.randomNormal([2, 3, 3, 3], 0, 1, 'float32', 14);
    const f = (w: tf.Tensor) =>
      tf.sum(tf.mul(tf.tanh(conv2d(x, w, undefined, { stride: 2, padding: 'same' })), probe)) as tf.Scalar;
    expect(finiteDifferenceError(f, shared, 8)).toBeLessThan(1e-2);
    expect(finiteDifferenceError(f, perSample, 8)).toBeLessThan(1e-2);
    // and w.r.t. the input, through the im2col custom gradient
    const fx = (a: tf.Tensor) =>
      tf.sum(tf.mul(tf.tanh(conv2d(a, perSample, undefined, { stride: 2, padding: 'same' })), probe)) as tf.Scalar;
    expect(finiteDifferenceError(fx, x, 8)).toBeLessThan(1e-2);
    tf.dispose([x, shared, perSample, probe]);
  });

  it('rejects mismatched kernels and biases', () => {
    const x = tf.zeros([2, 4, 4, 3]);
    expect(() => conv2d(x, tf.zeros([3, 3, 2, 4]))).toThrow(/conv2d kernel/);
    expect(() => conv2d(x, tf.zeros([3, 3, 3, 3, 4]))).toThrow(/per-sample|batch/);
    expect(() => conv2d(x, tf.zeros([3, 3, 3, 4]), tf.zeros([5]))).toThrow(/bias/);
    x.dispose();
  });

  it('subsample2 equals x[:, ::2, ::2, :] for even and odd sizes, with a gradient', () => {
    for (const [h, w] of [
      [4, 6],
      [5, 3],
    ]) {
      const data = Array.from({ length: h * w * 2 }, (_, i) => i);
      const x = tf.tensor4d(data, [1, h, w, 2]);
      const got = subsample2(x).arraySync()[0];
      const want: number[][][] = [];
      for (let i = 0; i < h; i += 2) {
        const row: number[][] = [];
        for (let j = 0; j < w; j += 2) row.push([data[(i * w + j) * 2], data[(i * w + j) * 2 + 1]]);
        want.push(row);
      }
      expect(got).toEqual(want);
      const g = tf.grad((a: tf.Tensor) => tf.sum(subsample2(a)))(x);
      expect(tf.sum(g).dataSync()[0]).toBe(Math.ceil(h / 2) * Math.ceil(w / 2) * 2);
      tf.dispose([x, g]);
    }
  });

  it('pools and global-average-pools', () => {
    const x = tf.randomNormal([2, 6, 6, 3]);
    expect(pool2d(x, { type: 'max', size: 2 }).shape).toEqual([2, 3, 3, 3]);
    expect(pool2d(x, { type: 'avg', size: 3, stride: 2 }).shape).toEqual([2, 2, 2, 3]);
    expect(globalAvgPool(x).shape).toEqual([2, 3]);
    expect(() => pool2d(x, { type: 'max', size: 7 })).toThrow(ConfigError);
    x.dispose();
  });

  it('leaks no tensors across per-sample training steps', async () => {
    const x = tf.randomNormal([3, 6, 6, 2]);
    const w = tf.variable(tf.randomNormal([3, 3, 3, 2, 4]));
    const opt = tf.train.sgd(0.01);
    for (const method of ['im2col', 'depthwise'] as const)
      await assertNoLeaks(
        () =>
          opt.minimize(
            () => tf.sum(tf.square(conv2d(x, w, undefined, { stride: 2, padding: 'same', method }))) as tf.Scalar,
          ),
        { label: `per-sample conv (${method})` },
      );
    tf.dispose([x, w]);
    opt.dispose();
  });
});
