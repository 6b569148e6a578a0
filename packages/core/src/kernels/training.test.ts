// End to end on wasm after registerWasmTrainingKernels: gradients of small training losses
// equal cpu's, and repeated gradient calls leak neither engine tensors nor wasm heap buffers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { registerWasmTrainingKernels } from './index.js';
import { conv2DBackpropFilterOptions } from './Conv2DBackpropFilter.js';
import { compare, ErrorTable, randData, rng, runOn } from '../testing/kernels.js';

const TOL = 1e-4;
const table = new ErrorTable();

beforeAll(async () => {
  registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
});
afterAll(() => table.print('end-to-end gradients wasm vs cpu (training.test.ts)'));

function lenetData(seed: number, batch = 4) {
  const r = rng(seed);
  const he = (fanIn: number) => Math.sqrt(2 / fanIn);
  return {
    x: randData(r, [batch, 28, 28, 1]),
    labels: Int32Array.from({ length: batch }, () => r.int(0, 9)),
    f1: randData(r, [5, 5, 1, 6], he(25)),
    b1: randData(r, [6], 0.1),
    f2: randData(r, [5, 5, 6, 16], he(150)),
    w: randData(r, [256, 10], he(256)),
    batch,
  };
}

// LeNet: conv2d → relu → maxPool → conv2d → relu → maxPool → flatten → matMul → softmax CE.

/** A loss, its parameters, and the constant tensors it closes over (to dispose). */
interface Problem {
  loss: (...p: tf.Tensor[]) => tf.Scalar;
  params: tf.Tensor[];
  consts: tf.Tensor[];
}

/** [loss, ...gradients] */
function gradsOf(p: Problem): tf.Tensor[] {
  const { value, grads } = tf.valueAndGrads(p.loss)(p.params);
  return [value, ...grads];
}

function disposeProblem(p: Problem): void {
  tf.dispose([...p.params, ...p.consts]);
}

function lenet(d: ReturnType<typeof lenetData>): Problem {
  const x = tf.tensor4d(d.x, [d.batch, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(d.labels, 'int32'), 10);
  const loss = (f1: tf.Tensor, b1: tf.Tensor, f2: tf.Tensor, w: tf.Tensor) => {
    let h = tf.relu(tf.add(tf.conv2d(x, f1 as tf.Tensor4D, 1, 'valid'), b1)) as tf.Tensor4D; // 24x24x6
    h = tf.maxPool(h, 2, 2, 'valid'); // 12x12x6
    h = tf.relu(tf.conv2d(h, f2 as tf.Tensor4D, 1, 'valid')); // 8x8x16
    h = tf.maxPool(h, 2, 2, 'valid'); // 4x4x16
    const logits = tf.matMul(tf.reshape(h, [d.batch, 256]), w as tf.Tensor2D);
    return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
  };
  const params = [
    tf.tensor4d(d.f1, [5, 5, 1, 6]),
    tf.tensor1d(d.b1),
    tf.tensor4d(d.f2, [5, 5, 6, 16]),
    tf.tensor2d(d.w, [256, 10]),
  ];
  return { loss, params, consts: [x, y] };
}

function embedding(seed: number): Problem {
  const r = rng(seed);
  const table = randData(r, [50, 8]);
  const ids = tf.tensor2d(
    Int32Array.from({ length: 4 * 6 }, () => r.int(0, 49)),
    [4, 6],
    'int32',
  );
  const head = randData(r, [8, 3]);
  const target = tf.tensor2d(randData(r, [4, 3]), [4, 3]);
  const loss = (t: tf.Tensor, h: tf.Tensor) => {
    const e = tf.gather(t, ids); // [4, 6, 8]
    const pooled = tf.mean(e, 1) as tf.Tensor2D; // [4, 8]
    return tf.losses.meanSquaredError(target, tf.matMul(pooled, h as tf.Tensor2D)) as tf.Scalar;
  };
  return { loss, params: [tf.tensor2d(table, [50, 8]), tf.tensor2d(head, [8, 3])], consts: [ids, target] };
}

/** A bit of everything registered here: depthwise conv, einsum, strided slice, maxPool. */
function mixed(seed: number): Problem {
  const r = rng(seed);
  const x = tf.tensor4d(randData(r, [2, 9, 9, 4]), [2, 9, 9, 4]);
  const loss = (dw: tf.Tensor, pw: tf.Tensor, q: tf.Tensor) => {
    let h: tf.Tensor = tf.depthwiseConv2d(x, dw as tf.Tensor4D, 2, 'same'); // [2,5,5,8]
    h = tf.maxPool(h as tf.Tensor4D, 2, 1, 'same');
    h = tf.stridedSlice(h, [0, 0, 0, 0], [2, 5, 5, 8], [1, 2, 1, 1]); // [2,3,5,8]
    const t = tf.reshape(h, [2, 15, 8]);
    const att = tf.softmax(tf.einsum('bnd,bmd->bnm', tf.einsum('bnd,de->bne', t, pw), t));
    return tf.sum(tf.mul(tf.einsum('bnm,bmd->bnd', att, t), q)) as tf.Scalar;
  };
  const params = [
    tf.tensor4d(randData(r, [3, 3, 4, 2], 0.3), [3, 3, 4, 2]),
    tf.tensor2d(randData(r, [8, 8], 0.3), [8, 8]),
    tf.tensor3d(randData(r, [2, 15, 8]), [2, 15, 8]),
  ];
  return { loss, params, consts: [x] };
}

async function expectSame(name: string, fn: () => tf.Tensor[]) {
  const r = await runOn(['cpu', 'wasm'], fn);
  r.cpu.values.forEach((ref, i) => {
    const c = compare(ref, r.wasm.values[i]);
    table.add(`${name} [${i === 0 ? 'loss' : `grad ${i}`}]`, c);
    expect(c.maxAbs, `${name} output ${i}`).toBeLessThanOrEqual(TOL * c.scale);
  });
}

describe('end-to-end gradients, wasm vs cpu', () => {
  // runOn builds the problem inside a tidy on each backend, so everything is disposed
  it('LeNet-ish loss w.r.t. both filters, the bias and the dense weights', async () => {
    for (const seed of [1, 2]) await expectSame('LeNet', () => gradsOf(lenet(lenetData(seed))));
  });

  it('embedding lookup (tf.gather) loss w.r.t. the table and the head', async () => {
    await expectSame('embedding gather', () => gradsOf(embedding(3)));
  });

  it('depthwise conv + maxPool + stridedSlice + einsum attention', async () => {
    await expectSame('depthwise/einsum/stridedSlice', () => gradsOf(mixed(4)));
  });
});

describe('memory', () => {
  it('repeated gradient calls leak no engine tensors and no wasm heap buffers', async () => {
    await tf.setBackend('wasm');
    const backend = tf.engine().backend as unknown as { numDataIds(): number };
    const problems = [lenet(lenetData(5, 2)), embedding(6), mixed(7)];
    // no tidy: whatever a gradient call leaves behind beyond its outputs would accumulate
    const step = () => {
      for (const p of problems) tf.dispose(gradsOf(p));
    };
    step(); // warm-up (lazy one-time allocations)
    const tensors0 = tf.memory().numTensors;
    const bytes0 = tf.memory().numBytes;
    const ids0 = backend.numDataIds();
    for (let i = 0; i < 3; i++) step();
    // the batch-chunked conv filter path allocates and frees its own heap buffers
    conv2DBackpropFilterOptions.im2colChunkFloats = 2048;
    try {
      for (let i = 0; i < 2; i++) step();
    } finally {
      conv2DBackpropFilterOptions.im2colChunkFloats = 8 * 1024 * 1024;
    }
    expect(tf.memory().numTensors).toBe(tensors0);
    expect(tf.memory().numBytes).toBe(bytes0);
    expect(backend.numDataIds()).toBe(ids0);
    problems.forEach(disposeProblem);
  });
});
