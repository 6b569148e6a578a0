import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend, tensorsToSafetensors } from '@hypernets/core';
import {
  Box,
  PpoTrainer,
  loadMujoco,
  makeEnv,
  registerEnv,
  unregisterEnv,
  type Env,
  type StepResult,
} from '@hypernets/rl';
import { reportAgainstTorch } from './torch.js';

const ITERATION_STEPS = 2048; // CleanRL's ppo_continuous_action: 1 env × 2048 steps per iteration
const REPLAY_ID = 'bench/ReplayHalfCheetah-v5';

/** A recording of HalfCheetah-v5 under random actions: observations, rewards and episode ends. */
interface Recording {
  obs: Float32Array;
  rewards: Float32Array;
  dones: Float32Array;
  steps: number;
  observationSize: number;
  actionSize: number;
  /** HalfCheetah-v5 env steps per second of the recording run (physics, 5 substeps each, and the env's host work). */
  envStepsPerSecond: number;
}

async function recordHalfCheetah(steps: number): Promise<Recording> {
  await loadMujoco();
  const env = makeEnv('HalfCheetah-v5');
  const O = env.observationSpace.size;
  const A = (env.actionSpace as Box).size;
  env.actionSpace.seed(0);
  const obs = new Float32Array((steps + 1) * O);
  const rewards = new Float32Array(steps);
  const dones = new Float32Array(steps);
  obs.set(env.reset({ seed: 0 }).observation, 0);
  const t0 = performance.now();
  for (let t = 0; t < steps; t++) {
    const r = env.step(env.actionSpace.sample() as never);
    rewards[t] = r.reward;
    dones[t] = r.terminated || r.truncated ? 1 : 0;
    obs.set(r.terminated || r.truncated ? env.reset().observation : r.observation, (t + 1) * O);
  }
  const envStepsPerSecond = steps / ((performance.now() - t0) / 1000);
  env.close();
  return { obs, rewards, dones, steps, observationSize: O, actionSize: A, envStepsPerSecond };
}

/**
 * The recording replayed in a loop whatever the actions: the simulator's stand-in on both sides, so
 * both time the same rollout bookkeeping and update. Observation space unbounded, actions Box(−1, 1).
 */
class ReplayEnv implements Env<Box> {
  readonly observationSpace: Box;
  readonly actionSpace: Box;
  spec = null;
  private t = 0;
  constructor(private readonly rec: Recording) {
    this.observationSpace = new Box(-Infinity, Infinity, [rec.observationSize]);
    this.actionSpace = new Box(-1, 1, [rec.actionSize]);
  }
  get unwrapped() {
    return this;
  }
  private obsAt(t: number) {
    const O = this.rec.observationSize;
    return this.rec.obs.slice(t * O, (t + 1) * O);
  }
  reset() {
    return { observation: this.obsAt(this.t), info: {} };
  }
  step(): StepResult {
    const i = this.t;
    this.t = (this.t + 1) % this.rec.steps;
    const done = this.rec.dones[i] === 1;
    // episode ends of the recording are time-limit truncations (HalfCheetah never terminates)
    return {
      observation: this.obsAt(i + 1),
      reward: this.rec.rewards[i]!,
      terminated: false,
      truncated: done,
      info: {},
    };
  }
  close() {}
}

const median = (v: readonly number[]) => +[...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!.toFixed(2);

/**
 * Env steps per second of a PPO run on HalfCheetah-v5 (rollout + update), next to PyTorch: one
 * iteration of CleanRL's ppo_continuous_action.py (1 env × 2048 steps, GAE, 10 epochs × 32
 * minibatches, the env wrapped in ClipAction, NormalizeObservation, NormalizeReward) with
 * PpoTrainer's `continuous` preset on each tfjs backend and with python/ppo_step.py on PyTorch.
 * Debian has no MuJoCo for Python, so both sides step the same recorded workload: 2048 transitions
 * of HalfCheetah-v5 under random actions, recorded here through @mujoco/mujoco and replayed in a
 * loop. The simulator's own cost (measured while recording) is printed beside it, with what the
 * run's rate becomes once it is added to both sides.
 */
export async function ppoStep(o: { backends: string[]; steps: number; warmup: number; torchThreads: number }) {
  let rec: Recording;
  try {
    rec = await recordHalfCheetah(ITERATION_STEPS);
  } catch (e) {
    console.log(`ppo-step unavailable: ${(e as Error).message}`);
    return;
  }
  console.log(
    `HalfCheetah-v5 through @mujoco/mujoco: ${rec.envStepsPerSecond.toFixed(0)} env steps/s alone ` +
      `(${(1000 / rec.envStepsPerSecond).toFixed(3)} ms per step, 5 physics substeps)`,
  );
  registerEnv(REPLAY_ID, () => new ReplayEnv(rec));
  const dir = mkdtempSync(join(tmpdir(), 'ppo-step-'));
  const file = join(dir, 'recording.safetensors');
  const ms: Record<string, number | string> = {};
  const cpuMs: Record<string, number> = {};
  try {
    for (const b of o.backends) {
      try {
        const info = await initBackend(b);
        if (!existsSync(file)) {
          // the recording for the PyTorch side (tensors need a backend)
          const saved = {
            obs: tf.tensor2d(rec.obs.subarray(0, rec.steps * rec.observationSize), [rec.steps, rec.observationSize]),
            rewards: tf.tensor1d(rec.rewards),
            dones: tf.tensor1d(rec.dones),
            action_size: tf.tensor1d([rec.actionSize], 'int32'),
          };
          writeFileSync(file, await tensorsToSafetensors(saved));
          tf.dispose(Object.values(saved));
        }
        const wall: number[] = [];
        const cpu: number[] = [];
        let t = performance.now();
        let c = process.cpuUsage();
        const trainer = new PpoTrainer({
          env: REPLAY_ID,
          preset: 'continuous',
          totalTimesteps: ITERATION_STEPS * (o.warmup + o.steps),
          seed: 0,
          callbacks: {
            onIteration: () => {
              const now = performance.now();
              const cu = process.cpuUsage(c);
              wall.push(now - t);
              cpu.push((cu.user + cu.system) / 1000);
              t = now;
              c = process.cpuUsage();
            },
          },
        });
        await trainer.run();
        trainer.dispose();
        ms[b] = median(wall.slice(o.warmup));
        cpuMs[b] = median(cpu.slice(o.warmup));
        console.log(
          `${b.padEnd(7)} ${String(ms[b]).padStart(9)} ms per iteration of ${ITERATION_STEPS} steps ` +
            `(${((ITERATION_STEPS / (ms[b] as number)) * 1000).toFixed(0)} env steps/s on the replay; median of ${o.steps} after ${o.warmup}; CPU ${cpuMs[b]} ms)  device: ${info.device}`,
        );
        await shutdownBackend();
      } catch (e) {
        ms[b] = `unavailable: ${(e as Error).message}`;
        console.log(`${b.padEnd(7)} unavailable: ${(e as Error).message}`);
      }
    }
    const simMs = (ITERATION_STEPS / rec.envStepsPerSecond) * 1000;
    reportAgainstTorch(
      'ppo-step',
      ms,
      'ppo_step.py',
      [o.steps, o.warmup, o.torchThreads, file],
      o.torchThreads,
      `median of ${o.steps} iterations`,
      {
        iteration_steps: ITERATION_STEPS,
        steps_per_second: Object.fromEntries(
          Object.entries(ms).flatMap(([k, v]) =>
            typeof v === 'number' ? [[k, +((ITERATION_STEPS / v) * 1000).toFixed(0)]] : [],
          ),
        ),
        halfcheetah_env_steps_per_second: +rec.envStepsPerSecond.toFixed(0),
        simulator_ms_per_iteration: +simMs.toFixed(1),
      },
      cpuMs,
      1.5, // the target: within 1.5× of PyTorch
    );
  } finally {
    unregisterEnv(REPLAY_ID);
    rmSync(dir, { recursive: true, force: true });
  }
}
