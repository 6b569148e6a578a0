import { ConfigError, type Rng } from '@hypernets/core';
import { finite, nonNegative, positionsAndVelocities, range, sumSquares } from './half-cheetah.js';
import { mujocoModelXml } from './loader.js';
import { MujocoEnv, normalNoise, uniformNoise, type GroundPosition, type MujocoTransition } from './mujoco-env.js';

const OBJ_BODY = 1; // mjOBJ_BODY

export interface AntOptions {
  /** Default 1. */
  forwardRewardWeight?: number;
  /** Default 0.5. */
  ctrlCostWeight?: number;
  /** Default 5e-4. */
  contactCostWeight?: number;
  /** Reward per step while healthy. Default 1. */
  healthyReward?: number;
  /** The body whose x (and y) the forward reward differentiates: its id or name. Default 1 (the torso). */
  mainBody?: number | string;
  /** End the episode when unhealthy. Default true. */
  terminateWhenUnhealthy?: boolean;
  /** Healthy torso heights (closed interval). Default [0.2, 1]. */
  healthyZRange?: [number, number];
  /** The external contact forces are clipped to it, in the observation and the contact cost. Default [−1, 1]. */
  contactForceRange?: [number, number];
  /** Default 0.1. */
  resetNoiseScale?: number;
  /** Leave the torso's x and y out of the observation. Default true. */
  excludeCurrentPositionsFromObservation?: boolean;
  /** Add the clipped external contact forces of every body but the world (cfrc_ext[1:]). Default true. */
  includeCfrcExtInObservation?: boolean;
  /** Another robot's MJCF text (Gymnasium's `xml_file`). Default: this package's models/ant.xml. */
  xml?: string;
}

/**
 * Ant-v5 (Gymnasium): a quadruped on a free joint walks forward (+x). 5 physics steps of 0.01 s
 * (RK4) per env step (dt 0.05). reward = forwardRewardWeight · (Δx / dt) + healthyReward ·
 * healthy − ctrlCostWeight · ‖a‖² − contactCostWeight · ‖clip(cfrc_ext)‖², with x the main
 * body's; healthy: the state is finite and the torso's z is within healthyZRange (closed);
 * terminated when unhealthy. Observation (105): qpos without x and y (13), qvel (14), and the
 * clipped cfrc_ext of the 13 bodies after the world (78). Reset: qpos + U(−0.1, 0.1), qvel +
 * 0.1 · N(0, 1).
 */
export class AntEnv extends MujocoEnv {
  readonly forwardRewardWeight: number;
  readonly ctrlCostWeight: number;
  readonly contactCostWeight: number;
  readonly healthyReward: number;
  readonly terminateWhenUnhealthy: boolean;
  readonly healthyZRange: [number, number];
  readonly contactForceRange: [number, number];
  readonly resetNoiseScale: number;
  readonly excludeXY: boolean;
  readonly includeCfrcExt: boolean;
  /** The id of the main body. */
  readonly mainBody: number;

  constructor(options: AntOptions = {}) {
    // checked before the model is compiled: nothing to free when an option is wrong
    const forwardRewardWeight = finite('forwardRewardWeight', options.forwardRewardWeight ?? 1);
    const ctrlCostWeight = finite('ctrlCostWeight', options.ctrlCostWeight ?? 0.5);
    const contactCostWeight = finite('contactCostWeight', options.contactCostWeight ?? 5e-4);
    const healthyReward = finite('healthyReward', options.healthyReward ?? 1);
    const healthyZRange = range('healthyZRange', options.healthyZRange ?? [0.2, 1]);
    const contactForceRange = range('contactForceRange', options.contactForceRange ?? [-1, 1]);
    const resetNoiseScale = nonNegative('resetNoiseScale', options.resetNoiseScale ?? 0.1);
    const excludeXY = options.excludeCurrentPositionsFromObservation ?? true;
    const includeCfrcExt = options.includeCfrcExtInObservation ?? true;
    const mainBody = options.mainBody ?? 1;
    if (typeof mainBody !== 'string' && !(Number.isInteger(mainBody) && mainBody >= 0))
      throw new ConfigError('mainBody', `must be a body id (an integer ≥ 0) or name, got ${String(mainBody)}`);
    const xml = options.xml ?? mujocoModelXml('Ant-v5', 'ant.xml');
    super('Ant-v5', xml, 5, (m) => m.nq - (excludeXY ? 2 : 0) + m.nv + (includeCfrcExt ? 6 * (m.nbody - 1) : 0));
    const id = typeof mainBody === 'string' ? this.mj.mj_name2id(this.model, OBJ_BODY, mainBody) : mainBody;
    const nbody = this.model.nbody;
    if (id < 0 || id >= nbody) {
      this.close();
      throw new ConfigError('mainBody', `the model has no body ${JSON.stringify(mainBody)} (${nbody} bodies)`);
    }
    this.mainBody = id;
    this.forwardRewardWeight = forwardRewardWeight;
    this.ctrlCostWeight = ctrlCostWeight;
    this.contactCostWeight = contactCostWeight;
    this.healthyReward = healthyReward;
    this.terminateWhenUnhealthy = options.terminateWhenUnhealthy ?? true;
    this.healthyZRange = healthyZRange;
    this.contactForceRange = contactForceRange;
    this.resetNoiseScale = resetNoiseScale;
    this.excludeXY = excludeXY;
    this.includeCfrcExt = includeCfrcExt;
  }

  /** Gymnasium's `is_healthy`: qpos and qvel finite, and the torso's z (qpos[2]) within healthyZRange (closed). */
  get isHealthy(): boolean {
    const q = this.data.qpos;
    for (const v of q) if (!Number.isFinite(v)) return false;
    for (const v of this.data.qvel) if (!Number.isFinite(v)) return false;
    const [lo, hi] = this.healthyZRange;
    return lo <= q[2]! && q[2]! <= hi;
  }

  /** cfrc_ext of every body (the world's too), clipped to contactForceRange: nbody × 6 values. */
  get contactForces(): Float64Array {
    const [lo, hi] = this.contactForceRange;
    return Float64Array.from(this.data.cfrc_ext, (v) => Math.min(Math.max(v, lo), hi));
  }

  protected override groundPosition(): GroundPosition {
    const xpos = this.data.xpos;
    return { x: xpos[3 * this.mainBody]!, y: xpos[3 * this.mainBody + 1]! };
  }

  protected resetNoise(rng: Rng) {
    return {
      qpos: uniformNoise(rng, this.initQpos, this.resetNoiseScale),
      qvel: normalNoise(rng, this.initQvel, this.resetNoiseScale),
    };
  }

  protected afterStep(action: Float64Array, before: GroundPosition, after: GroundPosition): MujocoTransition {
    const xVelocity = (after.x - before.x) / this.dt;
    const yVelocity = (after.y - before.y) / this.dt;
    const healthy = this.isHealthy;
    const forward = this.forwardRewardWeight * xVelocity;
    const survive = healthy ? this.healthyReward : 0;
    const ctrl = this.ctrlCostWeight * sumSquares(action);
    const contact = this.contactCostWeight * sumSquares(this.contactForces);
    return {
      reward: forward + survive - ctrl - contact,
      terminated: !healthy && this.terminateWhenUnhealthy,
      info: {
        ...this.resetInfo(),
        x_velocity: xVelocity,
        y_velocity: yVelocity,
        reward_forward: forward,
        reward_ctrl: -ctrl,
        reward_contact: -contact,
        reward_survive: survive,
      },
    };
  }

  protected observe(): Float32Array {
    const nbody = this.model.nbody;
    const extra = this.includeCfrcExt ? 6 * (nbody - 1) : 0;
    const out = positionsAndVelocities(this.data.qpos, this.data.qvel, this.excludeXY ? 2 : 0, Infinity, extra);
    if (extra > 0) {
      const [lo, hi] = this.contactForceRange;
      const cfrc = this.data.cfrc_ext;
      const o = out.length - extra;
      for (let i = 0; i < extra; i++) out[o + i] = Math.min(Math.max(cfrc[6 + i]!, lo), hi);
    }
    return out;
  }

  protected override resetInfo() {
    const x = this.data.qpos[0]!;
    const y = this.data.qpos[1]!;
    return { x_position: x, y_position: y, distance_from_origin: Math.hypot(x, y) };
  }
}
