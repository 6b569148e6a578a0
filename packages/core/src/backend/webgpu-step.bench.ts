/**
 * ms per training step (forward + backward + Adam) of an MLP 784-100-100-10 at batch 128.
 * Not a test: run by hand, e.g.
 *   pnpm exec tsx src/backend/webgpu-step.bench.ts            # webgpu only
 *   pnpm exec tsx src/backend/webgpu-step.bench.ts webgpu cpu wasm
 * On a CPU-only Linux machine webgpu runs on SwiftShader (.ci/install-webgpu.sh).
 */
import { register } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { releaseWebgpu, startWebgpu } from './webgpu.js';

// tfjs-core's main entry registers no gradients, and its register_all_gradients.js is ESM with
// extensionless relative imports that plain Node cannot resolve (vitest can). Resolve them
// here ('./x' → './x.js' or './x/index.js') for tfjs-core's dist only, then load the gradients.
const hook = `export async function resolve(spec, ctx, next) {
  if (ctx.parentURL?.includes('/@tensorflow/tfjs-core/dist/') && spec.startsWith('.') && !/\\.m?js$/.test(spec))
    for (const s of [spec + '.js', spec + '/index.js']) { try { return await next(s, ctx); } catch {} }
  return next(spec, ctx);
}`;
register('data:text/javascript,' + encodeURIComponent(hook));
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');

const SIZES = [784, 100, 100, 10];
const BATCH = 128;
const WARMUP = 5;
const STEPS = Number(process.env.BENCH_STEPS ?? 30);

async function bench(backend: string): Promise<void> {
  let device = backend;
  if (backend === 'webgpu') device = (await startWebgpu()).device;
  else {
    if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to start`);
  }
  const x = tf.randomNormal([BATCH, SIZES[0]], 0, 1, 'float32', 1);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32', 2), 10));
  const ws: tf.Variable[] = [];
  for (let l = 0; l + 1 < SIZES.length; l++) {
    ws.push(tf.variable(tf.randomNormal([SIZES[l], SIZES[l + 1]], 0, Math.sqrt(2 / SIZES[l]), 'float32', 10 + l)));
    ws.push(tf.variable(tf.zeros([SIZES[l + 1]])));
  }
  const opt = tf.train.adam(1e-3);
  const step = async (): Promise<number> => {
    const loss = opt.minimize(() => {
      let h: tf.Tensor = x;
      for (let l = 0; l < ws.length; l += 2) {
        h = tf.add(tf.matMul(h as tf.Tensor2D, ws[l] as tf.Tensor2D), ws[l + 1]);
        if (l + 2 < ws.length) h = tf.relu(h);
      }
      return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
    }, true)!;
    const v = (await loss.data())[0]; // waits for the GPU: one step is really done
    loss.dispose();
    return v;
  };
  let t = performance.now();
  for (let i = 0; i < WARMUP; i++) await step();
  const warm = (performance.now() - t) / WARMUP;
  const tensors = tf.memory().numTensors;
  t = performance.now();
  let last = 0;
  for (let i = 0; i < STEPS; i++) last = await step();
  const ms = (performance.now() - t) / STEPS;
  const leaked = tf.memory().numTensors - tensors;
  console.log(
    `${backend.padEnd(6)} ${ms.toFixed(1).padStart(7)} ms/step (first ${WARMUP} steps ${warm.toFixed(0)} ms/step incl. shader compile), ` +
      `loss ${last.toFixed(4)}, tensors leaked ${leaked}, ${device}`,
  );
  opt.dispose();
  tf.dispose([x, y, ...ws]);
  if (backend === 'webgpu') await releaseWebgpu();
}

const backends = process.argv.slice(2).length ? process.argv.slice(2) : ['webgpu'];
console.log(`MLP ${SIZES.join('-')}, batch ${BATCH}, Adam, ${STEPS} timed steps`);
for (const b of backends) await bench(b);
