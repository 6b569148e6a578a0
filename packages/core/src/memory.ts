import * as tf from '@tensorflow/tfjs-core';
import { TensorLeakError } from './errors/index.js';

/**
 * Runs `step` `warmup + steps` times and throws TensorLeakError when the number of live
 * tensors after a step keeps growing. Warm-up steps let optimizers create their slots.
 * `step` may return tensors: they are disposed after each call.
 */
export async function assertNoLeaks(
  step: (i: number) => unknown,
  { steps = 3, warmup = 1, label = 'step' }: { steps?: number; warmup?: number; label?: string } = {},
): Promise<number[]> {
  const run = async (i: number) => {
    const out = await step(i);
    disposeAny(out);
  };
  for (let i = 0; i < warmup; i++) await run(i);
  const counts = [tf.memory().numTensors];
  for (let i = 0; i < steps; i++) {
    await run(warmup + i);
    counts.push(tf.memory().numTensors);
  }
  if (counts.some((c) => c !== counts[0])) throw new TensorLeakError(label, counts);
  return counts;
}

function disposeAny(x: unknown): void {
  if (x instanceof tf.Tensor) x.dispose();
  else if (Array.isArray(x)) x.forEach(disposeAny);
  else if (x && typeof x === 'object' && !(x instanceof Promise))
    for (const v of Object.values(x)) if (v instanceof tf.Tensor) v.dispose();
}

/**
 * `tf.tidy` for a result TypeScript does not take as a `tf.TensorContainer`: an interface (it
 * has no index signature) or an object or array holding `null`s. As tf.tidy does, it keeps
 * every tensor the result holds (in nested objects and arrays; `null`s are skipped) and disposes
 * the other tensors `fn` made. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
