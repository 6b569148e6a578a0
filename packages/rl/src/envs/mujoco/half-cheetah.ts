import { ConfigError, type Rng } from '@hypernets/core';
import { MujocoEnv, normalNoise, uniformNoise, type MujocoTransition } from './mujoco-env.js';
import { HALF_CHEETAH_XML } from './models/half-cheetah.js';

export interface HalfCheetahOptions {
  /** Default 1. */
  forwardRewardWeight?: number;
  /** Default 0.1. */
  ctrlCostWeight?: number;
  /** Default 0.1. */
  resetNoiseScale?: number;
  /** Leave the torso's x out of the observation. Default true. */
  excludeCurrentPositionsFromObservation?: boolean;
}

/**
 * HalfCheetah-v5 (Gymnasium): a planar cheetah runs forward. 5 physics steps of 0.01 s per env
 * step (dt 0.05); reward = forwardRewardWeight · (Δx / dt) − ctrlCostWeight · ‖a‖²; never
 * terminates (the TimeLimit of 1000 truncates). Observation: qpos without the root x (8) and
 * qvel (9). Reset: qpos + U(−0.1, 0.1), qvel + 0.1 · N(0, 1).
 */
export class HalfCheetahEnv extends MujocoEnv {
  readonly forwardRewardWeight: number;
  readonly ctrlCostWeight: number;
  readonly resetNoiseScale: number;
  readonly excludeX: boolean;

  constructor(options: HalfCheetahOptions = {}) {
    const exclude = options.excludeCurrentPositionsFromObservation ?? true;
    super('HalfCheetah-v5', HALF_CHEETAH_XML, 5, exclude ? 17 : 18);
    this.forwardRewardWeight = finite('forwardRewardWeight', options.forwardRewardWeight ?? 1);
    this.ctrlCostWeight = finite('ctrlCostWeight', options.ctrlCostWeight ?? 0.1);
    this.resetNoiseScale = finite('resetNoiseScale', options.resetNoiseScale ?? 0.1);
    this.excludeX = exclude;
  }

  protected resetNoise(rng: Rng) {
    return {
      qpos: uniformNoise(rng, this.initQpos, this.resetNoiseScale),
      qvel: normalNoise(rng, this.initQvel, this.resetNoiseScale),
    };
  }

  protected afterStep(action: Float64Array, xBefore: number, xAfter: number): MujocoTransition {
    const xVelocity = (xAfter - xBefore) / this.dt;
    const forward = this.forwardRewardWeight * xVelocity;
    const ctrl = this.ctrlCostWeight * sumSquares(action);
    return {
      reward: forward - ctrl,
      terminated: false,
      info: { x_position: xAfter, x_velocity: xVelocity, reward_forward: forward, reward_ctrl: -ctrl },
    };
  }

  protected observe(): Float32Array {
    return positionsAndVelocities(this.data.qpos, this.data.qvel, this.excludeX ? 1 : 0, Infinity);
  }
}

/** qpos[skip:] then qvel clipped to ±clip, as float32. */
export function positionsAndVelocities(
  qpos: Float64Array,
  qvel: Float64Array,
  skip: number,
  clip: number,
): Float32Array {
  const out = new Float32Array(qpos.length - skip + qvel.length);
  for (let i = skip; i < qpos.length; i++) out[i - skip] = qpos[i]!;
  const o = qpos.length - skip;
  for (let i = 0; i < qvel.length; i++) out[o + i] = Math.min(Math.max(qvel[i]!, -clip), clip);
  return out;
}

export function sumSquares(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return s;
}

export function finite(name: string, v: number): number {
  if (!Number.isFinite(v)) throw new ConfigError(name, `must be a finite number, got ${v}`);
  return v;
}
