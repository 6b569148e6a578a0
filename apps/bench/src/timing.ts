import * as tf from '@tensorflow/tfjs-core';
import { Adam, initBackend, shutdownBackend } from '@hypernets/core';

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
 * Median wall and CPU ms of `step` over `steps` timed calls, after untimed ones: at least
 * `warmup` of them and at least `minWarmupMs` of wall time (default 2 s). V8 compiles hot code on
 * background threads over a step's first few hundred calls; a millisecond step timed before that
 * measures the compiler (hnet-step after 5 warm-up steps: 14 ms of CPU per 8 ms step; after
 * 300: 6.9 per 6.4). `warmupSteps` says how many ran.
 */
export async function medianMs(
  step: () => Promise<void>,
  { steps, warmup, minWarmupMs = 2000 }: { steps: number; warmup: number; minWarmupMs?: number },
): Promise<StepTimes & { warmupSteps: number }> {
  const w0 = performance.now();
  let warmupSteps = 0;
  while (warmupSteps < warmup || performance.now() - w0 < minWarmupMs) {
    await step();
    warmupSteps++;
  }
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
  return { ms: median(wall), cpuMs: median(cpu), warmupSteps };
}

/**
 * One training step of `vars` on `loss` — gradients (tf.variableGrads), then core's Adam (lr 1e-3:
 * torch.optim.Adam's update, what every hypernets trainer uses; with @hypernets/native one in-place
 * pass per variable) — reading the loss back (`await data()`), so asynchronous backends (webgpu)
 * have really finished it. `dispose` frees the optimizer's state.
 */
export function adamStep(
  vars: tf.Variable[],
  loss: () => tf.Scalar,
): { step: () => Promise<void>; dispose: () => void } {
  const opt = new Adam(vars, { lr: 1e-3 });
  return {
    step: async () => {
      const { value, grads } = tf.variableGrads(loss, vars);
      opt.step(vars.map((v) => grads[v.name] ?? null));
      tf.dispose(Object.values(grads));
      await value.data();
      value.dispose();
    },
    dispose: () => opt.dispose(),
  };
}

/** A workload built on the current backend: one step of it (finished when it resolves), and how to free it. */
export interface StepWorkload {
  step: () => Promise<void>;
  dispose: () => void;
}

/**
 * `medianMs` of the workload `build` makes, on each of `backends` in turn, printed one line per
 * backend (`detail` goes into it); a backend that cannot start is reported as unavailable, with
 * why. `warmupSteps`: the most warm-up steps a backend ran (give the PyTorch side as many).
 * `minWarmupMs` as medianMs's.
 */
export async function perBackendSteps(
  { backends, steps, warmup, minWarmupMs }: { backends: string[]; steps: number; warmup: number; minWarmupMs?: number },
  build: () => StepWorkload | Promise<StepWorkload>,
  detail = '',
): Promise<{ ms: Record<string, number | string>; cpuMs: Record<string, number>; warmupSteps: number }> {
  const ms: Record<string, number | string> = {};
  const cpuMs: Record<string, number> = {};
  let warmupSteps = warmup;
  for (const b of backends) {
    try {
      const info = await initBackend(b);
      const w = await build();
      const t = await medianMs(w.step, { steps, warmup, minWarmupMs });
      [ms[b], cpuMs[b]] = [t.ms, t.cpuMs];
      warmupSteps = Math.max(warmupSteps, t.warmupSteps);
      console.log(
        `${b.padEnd(7)} ${String(t.ms).padStart(9)} ms/step (median of ${steps} after ${t.warmupSteps}${detail}; CPU ${t.cpuMs} ms)  ` +
          `device: ${info.device}`,
      );
      w.dispose();
      await shutdownBackend();
    } catch (e) {
      ms[b] = `unavailable: ${(e as Error).message}`;
      console.log(`${b.padEnd(7)} unavailable: ${(e as Error).message}`);
    }
  }
  return { ms, cpuMs, warmupSteps };
}
