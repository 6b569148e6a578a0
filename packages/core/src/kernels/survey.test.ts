// Survey: tf.grads through every op our networks train with, on wasm (after
// registerWasmTrainingKernels) against cpu. A missing wasm kernel shows up here as a
// "Kernel 'X' not registered for backend 'wasm'" failure, a faulty one as a mismatch; this
// is how the list in index.ts was established: Conv2DBackpropFilter,
// DepthwiseConv2dNativeBackprop*, UnsortedSegmentSum and Einsum missing; MaxPoolGrad wrong
// (error 1.0); gradients missing in tfjs-core for Einsum, StridedSlice, Greater & co.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { registerWasmTrainingKernels } from './index.js';
import { compare, ErrorTable, randData, rng, runOn } from '../testing/kernels.js';

const TOL = 1e-4;
const table = new ErrorTable();

type Loss = (...xs: tf.Tensor[]) => tf.Tensor;
interface Case {
  name: string;
  shapes: number[][];
  loss: Loss;
  /** positive inputs (for sqrt/log/pow…) */
  positive?: boolean;
  /** a tfjs limitation: the gradient fails on both backends with this error */
  knownFailure?: RegExp;
}

const T4 = (t: tf.Tensor) => t as tf.Tensor4D;
const T2 = (t: tf.Tensor) => t as tf.Tensor2D;
const T3 = (t: tf.Tensor) => t as tf.Tensor3D;
// a fixed, non-uniform upstream weight so gradients are not all equal
const weighted = (y: tf.Tensor) => tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));

const cases: Case[] = [
  {
    name: 'matMul',
    shapes: [
      [4, 6],
      [6, 5],
    ],
    loss: (a, b) => weighted(tf.matMul(T2(a), T2(b))),
  },
  {
    name: 'matMul transposeA/B',
    shapes: [
      [6, 4],
      [5, 6],
    ],
    loss: (a, b) => weighted(tf.matMul(T2(a), T2(b), true, true)),
  },
  {
    name: 'batched matMul',
    shapes: [
      [3, 4, 6],
      [3, 6, 5],
    ],
    loss: (a, b) => weighted(tf.matMul(T3(a), T3(b))),
  },
  {
    name: 'batched matMul broadcast',
    shapes: [
      [3, 4, 6],
      [6, 5],
    ],
    loss: (a, b) => weighted(tf.matMul(a, tf.broadcastTo(b, [3, 6, 5]))),
  },
  {
    name: 'fused.matMul bias+relu',
    shapes: [[4, 6], [6, 5], [5]],
    loss: (a, b, c) => weighted(tf.fused.matMul({ a: T2(a), b: T2(b), bias: c, activation: 'relu' })),
  },
  {
    name: 'conv2d s1 same',
    shapes: [
      [2, 7, 7, 3],
      [3, 3, 3, 4],
    ],
    loss: (x, f) => weighted(tf.conv2d(T4(x), T4(f), 1, 'same')),
  },
  {
    name: 'conv2d s2 same',
    shapes: [
      [2, 8, 8, 3],
      [3, 3, 3, 4],
    ],
    loss: (x, f) => weighted(tf.conv2d(T4(x), T4(f), 2, 'same')),
  },
  {
    name: 'conv2d s2 valid',
    shapes: [
      [2, 9, 9, 3],
      [3, 3, 3, 4],
    ],
    loss: (x, f) => weighted(tf.conv2d(T4(x), T4(f), 2, 'valid')),
  },
  {
    name: 'conv2d 5x5 valid (LeNet)',
    shapes: [
      [2, 12, 12, 1],
      [5, 5, 1, 6],
    ],
    loss: (x, f) => weighted(tf.conv2d(T4(x), T4(f), 1, 'valid')),
  },
  {
    name: 'conv2d 1x1 s2 (ResNet shortcut)',
    shapes: [
      [2, 8, 8, 4],
      [1, 1, 4, 8],
    ],
    loss: (x, f) => weighted(tf.conv2d(T4(x), T4(f), 2, 'same')),
  },
  {
    name: 'fused.conv2d bias+relu',
    shapes: [[2, 6, 6, 3], [3, 3, 3, 4], [4]],
    loss: (x, f, b) =>
      weighted(tf.fused.conv2d({ x: T4(x), filter: T4(f), strides: 1, pad: 'same', bias: b, activation: 'relu' })),
  },
  {
    name: 'conv2dTranspose',
    shapes: [
      [2, 4, 4, 4],
      [3, 3, 3, 4],
    ],
    loss: (x, f) => weighted(tf.conv2dTranspose(T4(x), T4(f), [2, 8, 8, 3], 2, 'same')),
  },
  {
    name: 'conv1d',
    shapes: [
      [2, 9, 3],
      [3, 3, 4],
    ],
    loss: (x, f) => weighted(tf.conv1d(T3(x), T3(f), 1, 'same')),
  },
  {
    name: 'depthwiseConv2d',
    shapes: [
      [2, 7, 7, 3],
      [3, 3, 3, 2],
    ],
    loss: (x, f) => weighted(tf.depthwiseConv2d(T4(x), T4(f), 1, 'same')),
  },
  {
    name: 'depthwiseConv2d s2 valid',
    shapes: [
      [2, 9, 9, 3],
      [3, 3, 3, 1],
    ],
    loss: (x, f) => weighted(tf.depthwiseConv2d(T4(x), T4(f), 2, 'valid')),
  },
  {
    name: 'separableConv2d',
    shapes: [
      [2, 6, 6, 3],
      [3, 3, 3, 2],
      [1, 1, 6, 4],
    ],
    loss: (x, d, p) => weighted(tf.separableConv2d(T4(x), T4(d), T4(p), 1, 'same')),
  },
  { name: 'maxPool 2x2 s2', shapes: [[2, 8, 8, 3]], loss: (x) => weighted(tf.maxPool(T4(x), 2, 2, 'valid')) },
  { name: 'maxPool 3x3 s2 same', shapes: [[2, 7, 7, 3]], loss: (x) => weighted(tf.maxPool(T4(x), 3, 2, 'same')) },
  {
    name: 'maxPool after relu (LeNet)',
    shapes: [[2, 8, 8, 3]],
    loss: (x) => weighted(tf.maxPool(tf.relu(T4(x)), 2, 2, 'valid')),
  },
  { name: 'avgPool 2x2 s2', shapes: [[2, 8, 8, 3]], loss: (x) => weighted(tf.avgPool(T4(x), 2, 2, 'valid')) },
  { name: 'avgPool 3x3 s2 same', shapes: [[2, 7, 7, 3]], loss: (x) => weighted(tf.avgPool(T4(x), 3, 2, 'same')) },
  { name: 'global avgPool (mean over H,W)', shapes: [[2, 5, 5, 3]], loss: (x) => weighted(tf.mean(x, [1, 2])) },
  {
    name: 'batchNorm (moments)',
    shapes: [[4, 5, 5, 3], [3], [3]],
    loss: (x, g, b) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return weighted(tf.batchNorm(x, mean, variance, b, g, 1e-3));
    },
  },
  {
    name: 'layerNorm (moments)',
    shapes: [[4, 8], [8], [8]],
    loss: (x, g, b) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return weighted(tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b));
    },
  },
  { name: 'relu', shapes: [[5, 6]], loss: (x) => weighted(tf.relu(x)) },
  { name: 'relu6', shapes: [[5, 6]], loss: (x) => weighted(tf.relu6(tf.mul(x, 4))) },
  { name: 'leakyRelu', shapes: [[5, 6]], loss: (x) => weighted(tf.leakyRelu(x, 0.1)) },
  { name: 'prelu', shapes: [[5, 6], [6]], loss: (x, a) => weighted(tf.prelu(x, a)) },
  { name: 'elu', shapes: [[5, 6]], loss: (x) => weighted(tf.elu(x)) },
  { name: 'selu', shapes: [[5, 6]], loss: (x) => weighted(tf.selu(x)) },
  { name: 'tanh', shapes: [[5, 6]], loss: (x) => weighted(tf.tanh(x)) },
  { name: 'sigmoid', shapes: [[5, 6]], loss: (x) => weighted(tf.sigmoid(x)) },
  { name: 'softplus', shapes: [[5, 6]], loss: (x) => weighted(tf.softplus(x)) },
  {
    name: 'gelu (tanh approx.)',
    shapes: [[5, 6]],
    loss: (x) =>
      weighted(
        tf.mul(
          tf.mul(x, 0.5),
          tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))),
        ),
      ),
  },
  {
    name: 'gelu (erf)',
    shapes: [[5, 6]],
    loss: (x) => weighted(tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))))),
  },
  { name: 'softmax', shapes: [[4, 7]], loss: (x) => weighted(tf.softmax(x)) },
  { name: 'logSoftmax', shapes: [[4, 7]], loss: (x) => weighted(tf.logSoftmax(x)) },
  {
    name: 'softmax cross-entropy (oneHot)',
    shapes: [[4, 7]],
    loss: (x) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([1, 3, 6, 0], 'int32'), 7), x),
  },
  { name: 'logSumExp', shapes: [[4, 7]], loss: (x) => weighted(tf.logSumExp(x, 1)) },
  {
    name: 'mse loss',
    shapes: [
      [4, 7],
      [4, 7],
    ],
    loss: (a, b) => tf.losses.meanSquaredError(a, b),
  },
  {
    name: 'gather (embedding)',
    shapes: [[10, 4]],
    loss: (e) => weighted(tf.gather(e, tf.tensor1d([0, 3, 3, 9, 1], 'int32'))),
  },
  {
    name: 'gather axis 1',
    shapes: [[3, 10, 4]],
    loss: (e) => weighted(tf.gather(e, tf.tensor1d([2, 2, 7], 'int32'), 1)),
  },
  {
    name: 'unsortedSegmentSum',
    shapes: [[6, 4]],
    loss: (x) => weighted(tf.unsortedSegmentSum(x, tf.tensor1d([0, 2, 0, 1, 2, 2], 'int32'), 3)),
  },
  { name: 'slice', shapes: [[5, 6]], loss: (x) => weighted(tf.slice(x, [1, 2], [3, 3])) },
  { name: 'stridedSlice', shapes: [[6, 6]], loss: (x) => weighted(tf.stridedSlice(x, [0, 1], [6, 6], [2, 2])) },
  {
    name: 'stridedSlice masks (neg. stride, begin/end masks)',
    shapes: [[4, 5, 6]],
    loss: (x) => weighted(tf.stridedSlice(x, [3, 1, 1], [0, 4, 6], [-1, 1, 2], 2, 4, 0, 0, 0)),
  },
  {
    name: 'stridedSlice newAxis',
    shapes: [[4, 6]],
    loss: (x) => weighted(tf.stridedSlice(x, [1, 0, 1], [3, 0, 6], [1, 1, 2], 0, 0, 0, 2, 0)),
  },
  {
    name: 'concat',
    shapes: [
      [3, 4],
      [3, 2],
    ],
    loss: (a, b) => weighted(tf.concat([a, b], 1)),
  },
  {
    name: 'stack/unstack',
    shapes: [
      [3, 4],
      [3, 4],
    ],
    loss: (a, b) => weighted(tf.add(tf.unstack(tf.stack([a, b]))[1], tf.mul(a, 2))),
  },
  {
    name: 'split',
    shapes: [[4, 6]],
    loss: (x) => {
      const [p, q] = tf.split(x, [2, 4], 1);
      return weighted(tf.concat([tf.mul(p, 3), q], 1));
    },
  },
  {
    name: 'pad',
    shapes: [[3, 4]],
    loss: (x) =>
      weighted(
        tf.pad(
          x,
          [
            [1, 2],
            [0, 1],
          ],
          0.5,
        ),
      ),
  },
  {
    name: 'mirrorPad',
    shapes: [[3, 4]],
    loss: (x) =>
      weighted(
        tf.mirrorPad(
          x,
          [
            [1, 1],
            [2, 1],
          ],
          'reflect',
        ),
      ),
  },
  { name: 'transpose', shapes: [[2, 3, 4]], loss: (x) => weighted(tf.transpose(x, [2, 0, 1])) },
  {
    name: 'reshape/expandDims/squeeze',
    shapes: [[2, 3, 4]],
    loss: (x) => weighted(tf.squeeze(tf.expandDims(tf.reshape(x, [6, 4]), 1))),
  },
  { name: 'reverse', shapes: [[3, 4]], loss: (x) => weighted(tf.reverse(x, 1)) },
  { name: 'broadcastTo', shapes: [[1, 4]], loss: (x) => weighted(tf.broadcastTo(x, [3, 4])) },
  { name: 'tile', shapes: [[2, 3]], loss: (x) => weighted(tf.tile(x, [2, 3])) },
  { name: 'mean/sum', shapes: [[3, 4, 5]], loss: (x) => weighted(tf.add(tf.mean(x, 1), tf.sum(x, 1))) },
  { name: 'max/min reduce', shapes: [[3, 5]], loss: (x) => weighted(tf.add(tf.max(x, 1), tf.sum(tf.min(x, 0)))) },
  // tfjs-core's Prod gradient calls x.reshape(): needs '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops'
  { name: 'prod', shapes: [[3, 4]], loss: (x) => weighted(tf.prod(x, 1)), knownFailure: /reshape is not a function/ },
  { name: 'cumsum', shapes: [[3, 5]], loss: (x) => weighted(tf.cumsum(x, 1)) },
  { name: 'sqrt/rsqrt', shapes: [[4, 5]], positive: true, loss: (x) => weighted(tf.add(tf.sqrt(x), tf.rsqrt(x))) },
  {
    name: 'exp/log/log1p/expm1',
    shapes: [[4, 5]],
    positive: true,
    loss: (x) =>
      weighted(tf.add(tf.add(tf.exp(tf.mul(x, 0.3)), tf.log(x)), tf.add(tf.log1p(x), tf.expm1(tf.mul(x, 0.2))))),
  },
  {
    name: 'square/pow/reciprocal/div',
    shapes: [
      [4, 5],
      [4, 5],
    ],
    positive: true,
    loss: (x, y) => weighted(tf.add(tf.add(tf.square(x), tf.pow(x, 1.5)), tf.add(tf.reciprocal(y), tf.div(x, y)))),
  },
  {
    name: 'squaredDifference',
    shapes: [
      [4, 5],
      [4, 5],
    ],
    loss: (a, b) => weighted(tf.squaredDifference(a, b)),
  },
  {
    name: 'abs/neg/sin/cos',
    shapes: [[4, 5]],
    loss: (x) => weighted(tf.add(tf.abs(x), tf.neg(tf.add(tf.sin(x), tf.cos(x))))),
  },
  {
    name: 'minimum/maximum',
    shapes: [
      [4, 5],
      [4, 5],
    ],
    loss: (a, b) => weighted(tf.add(tf.minimum(a, b), tf.mul(tf.maximum(a, b), 2))),
  },
  {
    name: 'where (mask from the inputs: comparison gradients)',
    shapes: [
      [4, 5],
      [4, 5],
    ],
    loss: (a, b) => weighted(tf.where(tf.logicalAnd(tf.greater(a, b), tf.notEqual(a, 0)), tf.mul(a, 2), tf.mul(b, 3))),
  },
  { name: 'clipByValue', shapes: [[4, 5]], loss: (x) => weighted(tf.clipByValue(x, -0.5, 0.7)) },
  {
    name: 'dropout mask (randomUniform ≥ p, cast)',
    shapes: [[6, 5]],
    loss: (x) =>
      weighted(
        tf.div(tf.mul(x, tf.cast(tf.greaterEqual(tf.randomUniform([6, 5], 0, 1, 'float32', 42), 0.3), 'float32')), 0.7),
      ),
  },
  {
    name: 'l2 normalize / norm',
    shapes: [[4, 5]],
    loss: (x) => weighted(tf.add(tf.div(x, tf.norm(x, 'euclidean', 1, true)), tf.norm(x))),
  },
  { name: 'resizeBilinear', shapes: [[1, 4, 4, 2]], loss: (x) => weighted(tf.image.resizeBilinear(T4(x), [7, 6])) },
  {
    name: 'resizeNearestNeighbor',
    shapes: [[1, 4, 4, 2]],
    loss: (x) => weighted(tf.image.resizeNearestNeighbor(T4(x), [8, 8])),
  },
  {
    name: 'einsum (attention scores)',
    shapes: [
      [2, 3, 2, 4],
      [2, 5, 2, 4],
    ],
    loss: (q, k) => weighted(tf.einsum('bqhd,bkhd->bhqk', q, k)),
  },
  {
    name: 'addN',
    shapes: [
      [3, 4],
      [3, 4],
      [3, 4],
    ],
    loss: (a, b, c) => weighted(tf.addN([a, tf.mul(b, 2), c])),
  },
];

beforeAll(async () => {
  registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
});

afterAll(() => table.print('tf.grads wasm vs cpu, per op (survey.test.ts)'));

describe('gradient survey on wasm vs cpu', () => {
  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const r = rng(2000 + i);
    const data = c.shapes.map((s) => {
      const d = randData(r, s);
      if (c.positive) for (let j = 0; j < d.length; j++) d[j] = Math.abs(d[j]) + 0.5;
      return d;
    });
    if (c.knownFailure) {
      for (const b of ['cpu', 'wasm']) {
        await tf.setBackend(b);
        expect(() =>
          tf.tidy(() =>
            tf.grads((...a: tf.Tensor[]) => c.loss(...a) as tf.Scalar)(data.map((d, j) => tf.tensor(d, c.shapes[j]))),
          ),
        ).toThrow(c.knownFailure);
      }
      await tf.setBackend('wasm');
      return;
    }
    const res = await runOn(['cpu', 'wasm'], () => {
      const xs = data.map((d, j) => tf.tensor(d, c.shapes[j]));
      const { value, grads } = tf.valueAndGrads((...a: tf.Tensor[]) => c.loss(...a) as tf.Scalar)(xs);
      return [value, ...grads];
    });
    let worst = { maxAbs: 0, scale: 1 };
    res.cpu.values.forEach((ref, j) => {
      const cmp = compare(ref, res.wasm.values[j]);
      if (cmp.maxAbs / cmp.scale > worst.maxAbs / worst.scale) worst = cmp;
    });
    table.add(c.name, worst);
    expect(worst.maxAbs).toBeLessThanOrEqual(TOL * worst.scale);
  });
});
