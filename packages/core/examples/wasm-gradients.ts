/**
 * On wasm in Node, after initBackend('wasm'): gradients of a LeNet-5 (conv) and of an
 * embedding lookup (gather) with tf.grads, compared with the cpu backend.
 *   pnpm --filter @hypernets/core exec tsx --conditions=@hypernets/source examples/wasm-gradients.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, initWeights, lenet5, Rng, softmaxCrossEntropy } from '../src/index.js';

export interface GradientCheck {
  lenetMaxAbsErr: number;
  embeddingMaxAbsErr: number;
  lenetLoss: { wasm: number; cpu: number };
}

async function gradients(
  backend: 'wasm' | 'cpu',
): Promise<{ lenet: Float32Array[]; emb: Float32Array[]; loss: number }> {
  await initBackend(backend);
  const net = lenet5();
  const rng = new Rng(0);
  const weights = initWeights(net.params, rng);
  const x = rng.normal([8, 28, 28, 1]);
  const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
  const names = net.params.map((p) => p.name);
  const f = (...ws: tf.Tensor[]) =>
    softmaxCrossEntropy(net.forward(x, Object.fromEntries(names.map((n, i) => [n, ws[i]]))), y);
  const { value, grads } = tf.valueAndGrads(f)(names.map((n) => weights[n]));
  const lenet = await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>));
  const loss = (await value.data())[0];

  // Embedding lookup: loss = mean((E[ids] · v)²), gradient w.r.t. E goes through gather.
  const table = rng.normal([50, 16]);
  const v = rng.normal([16, 1]);
  const ids = tf.tensor1d([3, 7, 7, 49, 0, 3, 12], 'int32');
  const embGrad = tf.grad((e: tf.Tensor) => tf.mean(tf.square(tf.matMul(tf.gather(e, ids), v))))(table);
  const emb = [(await embGrad.data()) as Float32Array];
  tf.dispose([value, ...grads, x, y, table, v, ids, embGrad, ...Object.values(weights)]);
  return { lenet, emb, loss };
}

const maxAbs = (a: Float32Array[], b: Float32Array[]) =>
  Math.max(...a.map((t, i) => t.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i][j])), 0)));

export async function checkWasmGradients(): Promise<GradientCheck> {
  const w = await gradients('wasm');
  const c = await gradients('cpu');
  return {
    lenetMaxAbsErr: maxAbs(w.lenet, c.lenet),
    embeddingMaxAbsErr: maxAbs(w.emb, c.emb),
    lenetLoss: { wasm: w.loss, cpu: c.loss },
  };
}

if (process.argv[1]?.endsWith('wasm-gradients.ts')) {
  const r = await checkWasmGradients();
  console.log(JSON.stringify(r));
}
