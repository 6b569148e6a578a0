import * as tf from '@tensorflow/tfjs-core';

/**
 * Medians over the timed calls: `ms` wall time, `cpuMs` CPU time of this process (all its
 * threads, V8's GC helpers included). On a shared machine the wall time grows with the load;
 * the CPU time much less, so the ratio of CPU times is the fairer comparison there.
 */
export interface StepTimes {
  ms: number;
  cpuMs: number;
}

/**
 * Median ms of one optimizer step `minimize(loss)` over `steps` timed runs after `warmup`
 * untimed ones. Each step reads its loss back (`await data()`), so asynchronous backends
 * (webgpu) have really finished it.
 */
export async function medianStepMs(
  opt: tf.Optimizer,
  loss: () => tf.Scalar,
  { steps, warmup, varList }: { steps: number; warmup: number; varList?: tf.Variable[] },
): Promise<StepTimes> {
  return medianMs(
    async () => {
      const l = opt.minimize(loss, true, varList)!;
      await l.data();
      l.dispose();
    },
    { steps, warmup },
  );
}

/** Median wall and CPU ms of `step` over `steps` timed calls after `warmup` untimed ones. */
export async function medianMs(
  step: () => Promise<void>,
  { steps, warmup }: { steps: number; warmup: number },
): Promise<StepTimes> {
  for (let i = 0; i < warmup; i++) await step();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await step();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const median = (v: number[]) => +[...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!.toFixed(2);
  return { ms: median(wall), cpuMs: median(cpu) };
}
