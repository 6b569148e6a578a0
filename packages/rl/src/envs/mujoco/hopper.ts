import type { Rng } from '@hypernets/core';
import { ConfigError } from '@hypernets/core';
import { finite, nonNegative, positionsAndVelocities, range, sumSquares } from './half-cheetah.js';
import { mujocoModelXml } from './loader.js';
import { MujocoEnv, uniformNoise, type GroundPosition, type MujocoTransition } from './mujoco-env.js';

export interface PlanarWalkerOptions {
  /** Default 1. */
  forwardRewardWeight?: number;
  /** Default 1e-3. */
  ctrlCostWeight?: number;
  /** Reward per step while healthy. Default 1. */
  healthyReward?: number;
  /** End the episode when unhealthy. Default true. */
  terminateWhenUnhealthy?: boolean;
  /** Healthy torso heights (open interval). Hopper (0.7, ∞), Walker2d (0.8, 2). */
  healthyZRange?: [number, number];
  /** Healthy torso angles (open interval). Hopper (−0.2, 0.2), Walker2d (−1, 1). */
  healthyAngleRange?: [number, number];
  /** Hopper only: every state value after rootx and rootz within (−100, 100). */
  healthyStateRange?: [number, number];
  /** Default 5e-3. */
  resetNoiseScale?: number;
  /** Default true. */
  excludeCurrentPositionsFromObservation?: boolean;
  /** Another robot's MJCF text (Gymnasium's `xml_file`). Default: this package's models/hopper.xml or walker2d.xml. */
  xml?: string;
}

/**
 * What Hopper-v5 and Walker2d-v5 share (Gymnasium): 4 physics steps of 0.002 s (RK4) per env step
 * (dt 0.008); reward = forwardRewardWeight · (Δx / dt) + healthyReward · healthy − ctrlCostWeight ·
 * ‖a‖²; terminated when unhealthy (torso height or angle out of range; Hopper also any other state
 * value); observation qpos without root x, then qvel clipped to ±10; reset: qpos and qvel + U(−s, s).
 */
export abstract class PlanarWalkerEnv extends MujocoEnv {
  readonly forwardRewardWeight: number;
  readonly ctrlCostWeight: number;
  readonly healthyReward: number;
  readonly terminateWhenUnhealthy: boolean;
  readonly healthyZRange: [number, number];
  readonly healthyAngleRange: [number, number];
  readonly healthyStateRange: [number, number] | null;
  readonly resetNoiseScale: number;
  readonly excludeX: boolean;

  constructor(
    id: string,
    file: 'hopper.xml' | 'walker2d.xml',
    options: PlanarWalkerOptions,
    defaults: { z: [number, number]; angle: [number, number]; state: [number, number] | null },
  ) {
    // checked before the model is compiled: nothing to free when an option is wrong
    const forwardRewardWeight = finite('forwardRewardWeight', options.forwardRewardWeight ?? 1);
    const ctrlCostWeight = finite('ctrlCostWeight', options.ctrlCostWeight ?? 1e-3);
    const healthyReward = finite('healthyReward', options.healthyReward ?? 1);
    const healthyZRange = range('healthyZRange', options.healthyZRange ?? defaults.z);
    const healthyAngleRange = range('healthyAngleRange', options.healthyAngleRange ?? defaults.angle);
    const healthyStateRange =
      defaults.state === null ? null : range('healthyStateRange', options.healthyStateRange ?? defaults.state);
    const resetNoiseScale = nonNegative('resetNoiseScale', options.resetNoiseScale ?? 5e-3);
    const exclude = options.excludeCurrentPositionsFromObservation ?? true;
    const xml = options.xml ?? mujocoModelXml(id, file);
    super(id, xml, 4, (m) => m.nq - (exclude ? 1 : 0) + m.nv);
    this.forwardRewardWeight = forwardRewardWeight;
    this.ctrlCostWeight = ctrlCostWeight;
    this.healthyReward = healthyReward;
    this.terminateWhenUnhealthy = options.terminateWhenUnhealthy ?? true;
    this.healthyZRange = healthyZRange;
    this.healthyAngleRange = healthyAngleRange;
    this.healthyStateRange = healthyStateRange;
    this.resetNoiseScale = resetNoiseScale;
    this.excludeX = exclude;
  }

  /** Gymnasium's `is_healthy`: z and angle (qpos[1], qpos[2]) inside their open ranges, and the state range. */
  get isHealthy(): boolean {
    const q = this.data.qpos;
    const inside = (v: number, [lo, hi]: [number, number]) => lo < v && v < hi;
    if (!inside(q[1]!, this.healthyZRange) || !inside(q[2]!, this.healthyAngleRange)) return false;
    if (this.healthyStateRange) {
      for (let i = 2; i < q.length; i++) if (!inside(q[i]!, this.healthyStateRange)) return false;
      for (const v of this.data.qvel) if (!inside(v, this.healthyStateRange)) return false;
    }
    return true;
  }

  protected resetNoise(rng: Rng) {
    return {
      qpos: uniformNoise(rng, this.initQpos, this.resetNoiseScale),
      qvel: uniformNoise(rng, this.initQvel, this.resetNoiseScale),
    };
  }

  protected afterStep(action: Float64Array, before: GroundPosition, after: GroundPosition): MujocoTransition {
    const xVelocity = (after.x - before.x) / this.dt;
    const healthy = this.isHealthy;
    const forward = this.forwardRewardWeight * xVelocity;
    const survive = healthy ? this.healthyReward : 0;
    const ctrl = this.ctrlCostWeight * sumSquares(action);
    return {
      reward: forward + survive - ctrl,
      terminated: !healthy && this.terminateWhenUnhealthy,
      info: {
        x_position: after.x,
        z_distance_from_origin: this.data.qpos[1]! - this.initQpos[1]!,
        x_velocity: xVelocity,
        reward_forward: forward,
        reward_ctrl: -ctrl,
        reward_survive: survive,
      },
    };
  }

  protected observe(): Float32Array {
    return positionsAndVelocities(this.data.qpos, this.data.qvel, this.excludeX ? 1 : 0, 10);
  }

  protected override resetInfo() {
    return { x_position: this.data.qpos[0]!, z_distance_from_origin: this.data.qpos[1]! - this.initQpos[1]! };
  }
}

/** Hopper-v5 (Gymnasium): a one-legged planar robot hops forward. Observation 11, action 3. */
export class HopperEnv extends PlanarWalkerEnv {
  constructor(options: PlanarWalkerOptions = {}) {
    super('Hopper-v5', 'hopper.xml', options, { z: [0.7, Infinity], angle: [-0.2, 0.2], state: [-100, 100] });
  }
}

/** Walker2d-v5 (Gymnasium): a two-legged planar robot walks forward. Observation 17, action 6. */
export class Walker2dEnv extends PlanarWalkerEnv {
  constructor(options: PlanarWalkerOptions = {}) {
    if (options.healthyStateRange !== undefined)
      throw new ConfigError('healthyStateRange', 'Walker2d-v5 has no state range (Hopper-v5 only)');
    super('Walker2d-v5', 'walker2d.xml', options, { z: [0.8, 2], angle: [-1, 1], state: null });
  }
}
