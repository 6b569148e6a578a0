import * as tf from '@tensorflow/tfjs-core';

/**
 * Median ms of one optimizer step `minimize(loss)` over `steps` timed runs after `warmup`
 * untimed ones. Each step reads its loss back (`await data()`), so asynchronous backends
 * (webgpu) have really finished it.
 */
export async function medianStepMs(
  opt: tf.Optimizer,
  loss: () => tf.Scalar,
  { steps, warmup, varList }: { steps: number; warmup: number; varList?: tf.Variable[] },
): Promise<number> {
  return medianMs(async () => {
    const l = opt.minimize(loss, true, varList)!;
    await l.data();
    l.dispose();
  }, { steps, warmup });
}

/** Median ms of `step` over `steps` timed calls after `warmup` untimed ones. */
export async function medianMs(step: () => Promise<void>, { steps, warmup }: { steps: number; warmup: number }): Promise<number> {
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  times.sort((p, q) => p - q);
  return +times[Math.floor(times.length / 2)]!.toFixed(2);
}
