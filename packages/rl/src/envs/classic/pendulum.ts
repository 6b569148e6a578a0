import { ConfigError, type Rng } from '@hypernets/core';
import { Box } from '../spaces.js';
import { ClassicControlEnv, resetNumber, uniform, type Transition } from './classic-env.js';
import { drawnState, pendulumFrame } from '../../render/classic.js';
import type { RenderFrame, Renderable } from '../../render/shapes.js';

export interface PendulumOptions {
  /** Gravity (default 10, Gymnasium's). */
  g?: number;
  /** The pole's mass (default 1, Gymnasium's `env.unwrapped.m`). */
  m?: number;
  /** The pole's length (default 1, Gymnasium's `env.unwrapped.l`). */
  l?: number;
}

const MAX_SPEED = 8;
const MAX_TORQUE = 2.0;
const DT = 0.05;

/** An angle mapped to [−π, π) (Gymnasium's `angle_normalize`, with Python's floored modulo). */
export function angleNormalize(x: number): number {
  const m = 2 * Math.PI;
  let r = (x + Math.PI) % m;
  if (r < 0) r += m;
  return r - Math.PI;
}

/**
 * Pendulum-v1: a pendulum swung up by a torque in [−2, 2]. Gymnasium's equations: the torque is
 * clipped first; cost θ̂² + 0.1 θ̇² + 0.001 u² (θ̂ the angle normalised to [−π, π)); θ̇ += (3g/2l sin θ
 * + 3/(ml²) u) dt, clipped to ±8; then θ += θ̇ dt (θ itself is not wrapped). dt 0.05, m = l = 1,
 * g 10 by default (`m`, `l` and `g` are options: HyperZero's context family varies m and l). Observation [cos θ, sin θ, θ̇]; reward −cost; never terminates (the TimeLimit of 200
 * truncates). Reset: θ ~ U(−π, π), θ̇ ~ U(−1, 1).
 */
export class PendulumEnv extends ClassicControlEnv<Box> implements Renderable {
  readonly observationSpace = new Box([-1, -1, -MAX_SPEED], [1, 1, MAX_SPEED]);
  readonly actionSpace = new Box(-MAX_TORQUE, MAX_TORQUE, [1]);
  protected readonly stateSize = 2;
  readonly g: number;
  readonly m: number;
  readonly l: number;

  constructor(options: PendulumOptions = {}) {
    super();
    this.g = options.g ?? 10.0;
    this.m = options.m ?? 1.0;
    this.l = options.l ?? 1.0;
    if (!Number.isFinite(this.g)) throw new ConfigError('g', `must be a finite number, got ${this.g}`);
    for (const [name, v] of [['m', this.m] as const, ['l', this.l] as const])
      if (!Number.isFinite(v) || v <= 0) throw new ConfigError(name, `must be a positive finite number, got ${v}`);
  }

  protected initialState(rng: Rng, options: Record<string, unknown>): Float64Array {
    const known = ['xInit', 'yInit'];
    const x = resetNumber(this.name, options, 'xInit', Math.PI, known);
    const y = resetNumber(this.name, options, 'yInit', 1.0, known);
    return Float64Array.of(uniform(rng, -x, x), uniform(rng, -y, y));
  }

  protected transition(s: Float64Array, action: Float64Array): Transition {
    const th = s[0];
    const thDot = s[1];
    const u = Math.min(Math.max(action[0], -MAX_TORQUE), MAX_TORQUE);
    const costs = angleNormalize(th) ** 2 + 0.1 * thDot * thDot + 0.001 * (u * u);
    let newThDot = thDot + (((3 * this.g) / (2 * this.l)) * Math.sin(th) + (3.0 / (this.m * this.l * this.l)) * u) * DT;
    newThDot = Math.min(Math.max(newThDot, -MAX_SPEED), MAX_SPEED);
    s[0] = th + newThDot * DT;
    s[1] = newThDot;
    return { observation: this.observe(s), reward: -costs, terminated: false };
  }

  /** The rod of length l as Gymnasium draws it (render/classic.ts). */
  renderFrame(): RenderFrame {
    return pendulumFrame(drawnState(this.name, this.s)[0], this.l);
  }

  protected observe(s: Float64Array): Float32Array {
    return Float32Array.of(Math.cos(s[0]), Math.sin(s[0]), s[1]);
  }
}
