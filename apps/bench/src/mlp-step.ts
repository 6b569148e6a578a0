import * as tf from '@tensorflow/tfjs-core';
import { medianStepMs } from './timing.js';
import { MLP, Rng, createVariables, initBackend, shutdownBackend, softmaxCrossEntropy } from '@hypernets/core';

/**
 * One training step of an MLP 784-100-100-10 trained directly (its own variables), batch 128,
 * softmax cross-entropy, Adam 1e-3. The number the foundation issue asks for per backend.
 */
export async function mlpStep({ backends, steps, warmup }: { backends: string[]; steps: number; warmup: number }) {
  const ms: Record<string, number | string> = {};
  for (const b of backends) {
    try {
      const info = await initBackend(b);
      const net = new MLP({ inputSize: 784, hiddenSizes: [100, 100], outputSize: 10 });
      const rng = new Rng(0);
      const vars = createVariables(net.params, rng);
      const x = rng.normal([128, 784]);
      const y = tf.tensor1d(
        Array.from({ length: 128 }, (_, i) => i % 10),
        'int32',
      );
      const opt = tf.train.adam(1e-3);
      ms[b] = (await medianStepMs(opt, () => softmaxCrossEntropy(net.forward(x, vars), y), { steps, warmup })).ms;
      console.log(`${b.padEnd(7)} ${String(ms[b]).padStart(9)} ms/step (median of ${steps})  device: ${info.device}`);
      tf.dispose([x, y, ...Object.values(vars)]);
      opt.dispose();
      await shutdownBackend();
    } catch (e) {
      ms[b] = `unavailable: ${(e as Error).message}`;
      console.log(`${b.padEnd(7)} unavailable: ${(e as Error).message}`);
    }
  }
  console.log(JSON.stringify({ workload: 'mlp-step', model: '784-100-100-10', batch: 128, ms }));
}
