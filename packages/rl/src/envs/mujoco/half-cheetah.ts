import { ConfigError, type Rng } from '@hypernets/core';
import { mujocoModelXml } from './loader.js';
import { MujocoEnv, normalNoise, uniformNoise, type GroundPosition, type MujocoTransition } from './mujoco-env.js';

export interface HalfCheetahOptions {
  /** Default 1. */
  forwardRewardWeight?: number;
  /** Default 0.1. */
  ctrlCostWeight?: number;
  /** Default 0.1. */
  resetNoiseScale?: number;
  /** Leave the torso's x out of the observation. Default true. */
  excludeCurrentPositionsFromObservation?: boolean;
  /** Another robot's MJCF text (Gymnasium's `xml_file`). Default: this package's models/half_cheetah.xml. */
  xml?: string;
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
    // checked before the model is compiled: nothing to free when an option is wrong
    const forwardRewardWeight = finite('forwardRewardWeight', options.forwardRewardWeight ?? 1);
    const ctrlCostWeight = finite('ctrlCostWeight', options.ctrlCostWeight ?? 0.1);
    const resetNoiseScale = nonNegative('resetNoiseScale', options.resetNoiseScale ?? 0.1);
    const exclude = options.excludeCurrentPositionsFromObservation ?? true;
    const xml = options.xml ?? mujocoModelXml('HalfCheetah-v5', 'half_cheetah.xml');
    super('HalfCheetah-v5', xml, 5, (m) => m.nq - (exclude ? 1 : 0) + m.nv);
    this.forwardRewardWeight = forwardRewardWeight;
    this.ctrlCostWeight = ctrlCostWeight;
    this.resetNoiseScale = resetNoiseScale;
    this.excludeX = exclude;
  }

  protected resetNoise(rng: Rng) {
    return {
      qpos: uniformNoise(rng, this.initQpos, this.resetNoiseScale),
      qvel: normalNoise(rng, this.initQvel, this.resetNoiseScale),
    };
  }

  protected afterStep(action: Float64Array, before: GroundPosition, after: GroundPosition): MujocoTransition {
    const xVelocity = (after.x - before.x) / this.dt;
    const forward = this.forwardRewardWeight * xVelocity;
    const ctrl = this.ctrlCostWeight * sumSquares(action);
    return {
      reward: forward - ctrl,
      terminated: false,
      info: { x_position: after.x, x_velocity: xVelocity, reward_forward: forward, reward_ctrl: -ctrl },
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
  extra = 0,
): Float32Array {
  const out = new Float32Array(qpos.length - skip + qvel.length + extra);
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
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(name, `must be a finite number, got ${v}`);
  return v;
}

export function nonNegative(name: string, v: number): number {
  if (finite(name, v) < 0) throw new ConfigError(name, `must be ≥ 0, got ${v}`);
  return v;
}

/** A [low, high] pair with low < high (either end may be infinite). */
export function range(name: string, r: [number, number]): [number, number] {
  if (!Array.isArray(r) || r.length !== 2 || r.some((v) => typeof v !== 'number' || Number.isNaN(v)) || !(r[0] < r[1]))
    throw new ConfigError(name, `must be [low, high] with low < high, got ${JSON.stringify(r)}`);
  return [r[0], r[1]];
}
