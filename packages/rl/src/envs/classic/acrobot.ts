import type { Rng } from '@hypernets/core';
import { Box, Discrete } from '../spaces.js';
import { ClassicControlEnv, resetBounds, uniform, type Transition } from './classic-env.js';
import { drawnState, acrobotFrame } from '../../render/classic.js';
import type { RenderFrame, Renderable } from '../../render/shapes.js';

const DT = 0.2;
const LINK_LENGTH_1 = 1.0;
/** Drawn only: the dynamics use the centre-of-mass positions. */
const LINK_LENGTH_2 = 1.0;
const LINK_MASS_1 = 1.0;
const LINK_MASS_2 = 1.0;
const LINK_COM_POS_1 = 0.5;
const LINK_COM_POS_2 = 0.5;
const LINK_MOI = 1.0;
const GRAVITY = 9.8;
export const ACROBOT_MAX_VEL_1 = 4 * Math.PI;
export const ACROBOT_MAX_VEL_2 = 9 * Math.PI;
const TORQUES = [-1.0, 0.0, 1.0];

/**
 * Acrobot-v1 (Sutton 1996; Sutton & Barto's book), Gymnasium's equations: two links, torque
 * −1/0/+1 on the joint between them (no torque noise), one RK4 step over dt = 0.2 of the book's
 * dynamics, then both angles wrapped to [−π, π] and the velocities bounded to ±4π and ±9π.
 * Terminates when the tip rises above the bar (−cos θ₁ − cos(θ₁ + θ₂) > 1), reward −1 per step
 * until then (0 on the terminating step). Observation [cos θ₁, sin θ₁, cos θ₂, sin θ₂, θ̇₁, θ̇₂].
 * Reset: each state value U(−0.1, 0.1), rounded to float32 as Gymnasium's is.
 */
export class AcrobotEnv extends ClassicControlEnv<Discrete> implements Renderable {
  readonly observationSpace = new Box(
    [-1, -1, -1, -1, -ACROBOT_MAX_VEL_1, -ACROBOT_MAX_VEL_2],
    [1, 1, 1, 1, ACROBOT_MAX_VEL_1, ACROBOT_MAX_VEL_2],
  );
  /** Torque −1, 0, +1. */
  readonly actionSpace = new Discrete(3);
  protected readonly stateSize = 4;

  protected initialState(rng: Rng, options: Record<string, unknown>): Float64Array {
    const [low, high] = resetBounds(this.name, options, -0.1, 0.1);
    const s = new Float64Array(4);
    for (let i = 0; i < 4; i++) s[i] = Math.fround(uniform(rng, low, high));
    return s;
  }

  protected transition(s: Float64Array, action: number): Transition {
    const ns = rk4(s, TORQUES[action], DT);
    s[0] = wrap(ns[0], -Math.PI, Math.PI);
    s[1] = wrap(ns[1], -Math.PI, Math.PI);
    s[2] = bound(ns[2], -ACROBOT_MAX_VEL_1, ACROBOT_MAX_VEL_1);
    s[3] = bound(ns[3], -ACROBOT_MAX_VEL_2, ACROBOT_MAX_VEL_2);
    const terminated = -Math.cos(s[0]) - Math.cos(s[1] + s[0]) > 1.0;
    return { observation: this.observe(s), reward: terminated ? 0.0 : -1.0, terminated };
  }

  /** The two links and the bar as Gymnasium draws them (render/classic.ts). */
  renderFrame(): RenderFrame {
    return acrobotFrame(drawnState(this.name, this.s), LINK_LENGTH_1, LINK_LENGTH_2);
  }

  protected observe(s: Float64Array): Float32Array {
    return Float32Array.of(Math.cos(s[0]), Math.sin(s[0]), Math.cos(s[1]), Math.sin(s[1]), s[2], s[3]);
  }
}

/** d/dt [θ₁, θ₂, θ̇₁, θ̇₂] under torque `a` (the book's equations, as Gymnasium's `_dsdt`). */
function dsdt(s: ArrayLike<number>, a: number): [number, number, number, number] {
  const m1 = LINK_MASS_1;
  const m2 = LINK_MASS_2;
  const l1 = LINK_LENGTH_1;
  const lc1 = LINK_COM_POS_1;
  const lc2 = LINK_COM_POS_2;
  const I1 = LINK_MOI;
  const I2 = LINK_MOI;
  const g = GRAVITY;
  const theta1 = s[0];
  const theta2 = s[1];
  const dtheta1 = s[2];
  const dtheta2 = s[3];
  const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(theta2)) + I1 + I2;
  const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(theta2)) + I2;
  const phi2 = m2 * lc2 * g * Math.cos(theta1 + theta2 - Math.PI / 2.0);
  const phi1 =
    -m2 * l1 * lc2 * dtheta2 ** 2 * Math.sin(theta2) -
    2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * Math.sin(theta2) +
    (m1 * lc1 + m2 * l1) * g * Math.cos(theta1 - Math.PI / 2) +
    phi2;
  // The book's (and the Java implementation's) ddθ₂, not the NIPS paper's.
  const ddtheta2 =
    (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * dtheta1 ** 2 * Math.sin(theta2) - phi2) /
    (m2 * lc2 ** 2 + I2 - d2 ** 2 / d1);
  const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  return [dtheta1, dtheta2, ddtheta1, ddtheta2];
}

/** One classical Runge–Kutta step of `dt` from `y0` with the torque held constant. */
function rk4(y0: Float64Array, a: number, dt: number): Float64Array {
  const dt2 = dt / 2.0;
  const at = (k: readonly number[], h: number): number[] => [0, 1, 2, 3].map((i) => y0[i] + h * k[i]);
  const k1 = dsdt(y0, a);
  const k2 = dsdt(at(k1, dt2), a);
  const k3 = dsdt(at(k2, dt2), a);
  const k4 = dsdt(at(k3, dt), a);
  const out = new Float64Array(4);
  for (let i = 0; i < 4; i++) out[i] = y0[i] + (dt / 6.0) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  return out;
}

/** x shifted by whole periods into [m, M] (Gymnasium's `wrap`). */
function wrap(x: number, m: number, M: number): number {
  const diff = M - m;
  while (x > M) x = x - diff;
  while (x < m) x = x + diff;
  return x;
}

function bound(x: number, m: number, M: number): number {
  return Math.min(Math.max(x, m), M);
}
