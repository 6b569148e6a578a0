import { ConfigError, Rng } from '@hypernets/core';
import { MujocoUnavailableError, ResetNeededError } from '../../errors.js';
import type { Env, EnvSpec, Info, ResetOptions, ResetResult, StepResult } from '../env.js';
import { Box, checkAction, checkSeed, entropySeed, type Space } from '../spaces.js';
import type { RenderFrame, Renderable, Shape } from '../../render/shapes.js';
import { mujocoModule, type MjDataHandle, type MjModelHandle, type MujocoModule } from './loader.js';

/** Where the tracked body is, on the ground plane (x forward; y is 0 for the planar robots). */
export interface GroundPosition {
  x: number;
  y: number;
}

/** What a MuJoCo env's `afterStep` returns (the base adds truncated = false). */
export interface MujocoTransition {
  reward: number;
  terminated: boolean;
  info: Info;
}

/** mjtGeom values used by the renderer. */
const GEOM_PLANE = 0;
const GEOM_SPHERE = 2;
const GEOM_CAPSULE = 3;
const GEOM_BOX = 6;

/**
 * What the MuJoCo envs share (Gymnasium's `MujocoEnv`): the model compiled from the env's MJCF,
 * its data, `frameSkip` physics steps per env step (dt = timestep × frameSkip), the action space
 * from the actuators' control ranges, `mj_resetData` then the env's reset noise on reset,
 * `mj_rnePostConstraint` after each step (for contact forces), and the order checks of the
 * classic envs. `close()` frees the model and data in the wasm heap; the env is dead after it.
 * Observations are float32 (the Env contract; Gymnasium's MuJoCo envs return float64).
 */
export abstract class MujocoEnv implements Env<Box>, Renderable {
  readonly observationSpace: Box;
  readonly actionSpace: Box;
  spec: EnvSpec | null = null;
  readonly frameSkip: number;
  /** Seconds of simulated time per env step. */
  readonly dt: number;
  protected readonly mj: MujocoModule;
  protected readonly model: MjModelHandle;
  protected readonly data: MjDataHandle;
  /** qpos and qvel after mj_resetData (the model's qpos0, zero velocities). */
  readonly initQpos: Float64Array;
  readonly initQvel: Float64Array;
  private rng: Rng | null = null;
  private phase: 'needs-reset' | 'running' | 'ended' | 'closed' = 'needs-reset';

  constructor(
    id: string,
    xml: string,
    frameSkip: number,
    /** The observation's length from the compiled model. */
    observationSize: (model: MjModelHandle) => number,
  ) {
    this.mj = mujocoModule(id);
    if (!Number.isInteger(frameSkip) || frameSkip < 1)
      throw new ConfigError('frameSkip', `must be a positive integer, got ${frameSkip}`);
    if (typeof xml !== 'string') throw new ConfigError('xml', `must be MJCF text, got ${typeof xml}`);
    try {
      this.model = this.mj.MjModel.from_xml_string(xml);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (/allocate memory/i.test(message)) throw heapFull(id, message);
      throw new ConfigError('xml', `MuJoCo could not compile the model of ${id}: ${message}`);
    }
    try {
      this.data = new this.mj.MjData(this.model);
    } catch (e) {
      this.model.delete();
      throw heapFull(id, e instanceof Error ? e.message : String(e));
    }
    this.frameSkip = frameSkip;
    this.dt = this.model.opt.timestep * frameSkip;
    const range = this.model.actuator_ctrlrange;
    const nu = this.model.nu;
    this.actionSpace = new Box(
      Array.from({ length: nu }, (_, i) => range[2 * i]!),
      Array.from({ length: nu }, (_, i) => range[2 * i + 1]!),
    );
    this.observationSpace = new Box(-Infinity, Infinity, [observationSize(this.model)]);
    this.mj.mj_resetData(this.model, this.data);
    this.initQpos = Float64Array.from(this.data.qpos);
    this.initQvel = Float64Array.from(this.data.qvel);
  }

  get unwrapped(): Env<Space> {
    return this as unknown as Env<Space>;
  }

  get name(): string {
    return this.spec?.id ?? this.constructor.name;
  }

  /** Joint positions (a copy). */
  get qpos(): Float64Array {
    return Float64Array.from(this.data.qpos);
  }

  /** Joint velocities (a copy). */
  get qvel(): Float64Array {
    return Float64Array.from(this.data.qvel);
  }

  /** Gymnasium's `set_state`: joint positions and velocities, then mj_forward. Returns the observation. */
  setState(qpos: ArrayLike<number>, qvel: ArrayLike<number>): Float32Array {
    this.alive();
    if (qpos.length !== this.model.nq || qvel.length !== this.model.nv)
      throw new ConfigError(
        'state',
        `${this.name} takes qpos of ${this.model.nq} and qvel of ${this.model.nv} values, got ${qpos.length} and ${qvel.length}`,
      );
    this.data.qpos.set(Array.from(qpos));
    this.data.qvel.set(Array.from(qvel));
    this.mj.mj_forward(this.model, this.data);
    if (!this.rng) this.rng = new Rng(entropySeed());
    if (this.phase === 'needs-reset' || this.phase === 'ended') this.phase = 'running';
    return this.observe();
  }

  reset(options: ResetOptions = {}): ResetResult {
    this.alive();
    if (options.seed !== undefined) this.rng = new Rng(checkSeed(options.seed));
    else if (!this.rng) this.rng = new Rng(entropySeed());
    if (options.options && Object.keys(options.options).length > 0)
      throw new ConfigError(`${this.name} reset options`, 'this env takes no reset options');
    this.mj.mj_resetData(this.model, this.data);
    const { qpos, qvel } = this.resetNoise(this.rng);
    this.setState(qpos, qvel);
    this.phase = 'running';
    return { observation: this.observe(), info: this.resetInfo() };
  }

  step(action: number[] | Float32Array | Float64Array): StepResult {
    if (this.phase === 'closed') throw new ResetNeededError(this.name, 'step() was called after close()');
    if (this.phase === 'needs-reset') throw new ResetNeededError(this.name, 'step() was called before reset()');
    if (this.phase === 'ended') throw new ResetNeededError(this.name, 'step() was called after the episode terminated');
    const a = checkAction(this.name, this.actionSpace, action) as Float64Array;
    const before = this.groundPosition();
    this.data.ctrl.set(a); // MuJoCo clamps to the control range (ctrllimited)
    for (let k = 0; k < this.frameSkip; k++) this.mj.mj_step(this.model, this.data);
    this.mj.mj_rnePostConstraint(this.model, this.data);
    const t = this.afterStep(a, before, this.groundPosition());
    if (t.terminated) this.phase = 'ended';
    return { observation: this.observe(), reward: t.reward, terminated: t.terminated, truncated: false, info: t.info };
  }

  /** Frees the model and data; the env cannot be used after it. */
  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.data.delete();
    this.model.delete();
  }

  private alive(): void {
    if (this.phase === 'closed') throw new ResetNeededError(this.name, 'the env was closed');
  }

  /** Gymnasium's `reset_model` noise around initQpos / initQvel. */
  protected abstract resetNoise(rng: Rng): { qpos: Float64Array; qvel: Float64Array };
  /** Reward, termination and info of a step from the tracked position before and after it. */
  protected abstract afterStep(action: Float64Array, before: GroundPosition, after: GroundPosition): MujocoTransition;
  /** The position the forward reward differentiates: qpos[0] by default (Gymnasium's planar envs). */
  protected groundPosition(): GroundPosition {
    return { x: this.data.qpos[0]!, y: 0 };
  }
  protected abstract observe(): Float32Array;
  protected resetInfo(): Info {
    return { x_position: this.data.qpos[0]! };
  }

  /**
   * The geoms seen from the side (world x → x, world z → y): capsules, spheres, boxes (rotated)
   * and the floor; a 6 m × 3 m window that follows the first body's x.
   */
  renderFrame(): RenderFrame {
    this.alive();
    const m = this.model;
    const d = this.data;
    const xpos = d.geom_xpos;
    const xmat = d.geom_xmat;
    const size = m.geom_size;
    const types = m.geom_type;
    const rgba = m.geom_rgba;
    const shapes: Shape[] = [];
    const torsoX = d.xpos[3]!; // body 1 (the torso); body 0 is the world
    const view = { xMin: torsoX - 3, xMax: torsoX + 3, yMin: -0.5, yMax: 2.5 };
    for (let g = 0; g < m.ngeom; g++) {
      const px = xpos[3 * g]!;
      const pz = xpos[3 * g + 2]!;
      const color = rgbaHex(rgba, g);
      const R = (i: number, j: number) => xmat[9 * g + 3 * i + j]!; // row-major 3×3
      const s0 = size[3 * g]!;
      const s1 = size[3 * g + 1]!;
      const s2 = size[3 * g + 2]!;
      switch (types[g]) {
        case GEOM_PLANE:
          shapes.push({ kind: 'line', x1: view.xMin - 1, y1: pz, x2: view.xMax + 1, y2: pz, width: 0.02, color });
          break;
        case GEOM_SPHERE:
          shapes.push({ kind: 'circle', cx: px, cy: pz, r: s0, color });
          break;
        case GEOM_CAPSULE:
          // the capsule's axis is its local z: half-length s1 along column 2 of the rotation
          shapes.push({
            kind: 'capsule',
            x1: px - R(0, 2) * s1,
            y1: pz - R(2, 2) * s1,
            x2: px + R(0, 2) * s1,
            y2: pz + R(2, 2) * s1,
            r: s0,
            color,
          });
          break;
        case GEOM_BOX: {
          const corners: [number, number][] = [];
          for (const [a, b] of [
            [-1, -1],
            [1, -1],
            [1, 1],
            [-1, 1],
          ] as const)
            corners.push([px + R(0, 0) * a * s0 + R(0, 2) * b * s2, pz + R(2, 0) * a * s0 + R(2, 2) * b * s2]);
          shapes.push({ kind: 'polygon', points: corners, color });
          void s1;
          break;
        }
        default:
          break;
      }
    }
    return { view, shapes };
  }
}

function rgbaHex(rgba: Float32Array, g: number): string {
  const c = (i: number) =>
    Math.round(Math.min(Math.max(rgba[4 * g + i]!, 0), 1) * 255)
      .toString(16)
      .padStart(2, '0');
  return `#${c(0)}${c(1)}${c(2)}`;
}

/** U(−scale, scale) per value around `base` (Gymnasium: `init + np_random.uniform(-s, s, size)`). */
export function uniformNoise(rng: Rng, base: Float64Array, scale: number): Float64Array {
  return base.map((v) => v + (rng.uniform() * 2 - 1) * scale);
}

/** N(0, scale²) per value around `base` (Gymnasium: `init + s * np_random.standard_normal(size)`). */
export function normalNoise(rng: Rng, base: Float64Array, scale: number): Float64Array {
  const eps = rng.normalArray([base.length]);
  return base.map((v, i) => v + scale * eps[i]!);
}

/** MuJoCo's wasm heap (at most 2 GB, shared by every env of the process) is full. */
function heapFull(id: string, message: string): MujocoUnavailableError {
  return new MujocoUnavailableError(
    id,
    `MuJoCo's WebAssembly heap (2 GB at most, shared by all MuJoCo envs of this process) is full: close() ` +
      `the envs you no longer use (${message.trim()})`,
  );
}
