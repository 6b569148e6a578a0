import type { Rng } from '@hypernets/core';
import { Box, Discrete } from '../spaces.js';
import { ClassicControlEnv, resetBounds, uniform, type Transition } from './classic-env.js';
import { drawnState, cartPoleFrame } from '../../render/classic.js';
import type { RenderFrame, Renderable } from '../../render/shapes.js';

export interface CartPoleOptions {
  /** Sutton & Barto's reward: 0 per step, −1 when the pole falls (default false: +1 per step). */
  suttonBartoReward?: boolean;
}

const GRAVITY = 9.8;
const MASS_CART = 1.0;
const MASS_POLE = 0.1;
const TOTAL_MASS = MASS_POLE + MASS_CART;
const HALF_LENGTH = 0.5; // half the pole's length
const POLE_MASS_LENGTH = MASS_POLE * HALF_LENGTH;
const FORCE_MAG = 10.0;
const TAU = 0.02; // seconds per step
/** 12 degrees. */
export const CARTPOLE_THETA_THRESHOLD = (12 * 2 * Math.PI) / 360;
export const CARTPOLE_X_THRESHOLD = 2.4;

/**
 * CartPole-v1 (Barto, Sutton & Anderson 1983), Gymnasium's equations and constants: explicit Euler
 * over τ = 0.02 s, force ±10 N; the episode terminates when |x| > 2.4 or |θ| > 12°. Reward +1 per
 * step, the terminating step included. State [x, ẋ, θ, θ̇], reset to U(−0.05, 0.05) each.
 */
export class CartPoleEnv extends ClassicControlEnv<Discrete> implements Renderable {
  readonly observationSpace = new Box(
    [-CARTPOLE_X_THRESHOLD * 2, -Infinity, -CARTPOLE_THETA_THRESHOLD * 2, -Infinity],
    [CARTPOLE_X_THRESHOLD * 2, Infinity, CARTPOLE_THETA_THRESHOLD * 2, Infinity],
  );
  /** 0 pushes the cart left, 1 right. */
  readonly actionSpace = new Discrete(2);
  protected readonly stateSize = 4;
  private readonly suttonBarto: boolean;

  constructor(options: CartPoleOptions = {}) {
    super();
    this.suttonBarto = options.suttonBartoReward ?? false;
  }

  protected initialState(rng: Rng, options: Record<string, unknown>): Float64Array {
    const [low, high] = resetBounds(this.name, options, -0.05, 0.05);
    const s = new Float64Array(4);
    for (let i = 0; i < 4; i++) s[i] = uniform(rng, low, high);
    return s;
  }

  protected transition(s: Float64Array, action: number): Transition {
    let x = s[0];
    let xDot = s[1];
    let theta = s[2];
    let thetaDot = s[3];
    const force = action === 1 ? FORCE_MAG : -FORCE_MAG;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const temp = (force + POLE_MASS_LENGTH * thetaDot * thetaDot * sin) / TOTAL_MASS;
    const thetaAcc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - (MASS_POLE * cos * cos) / TOTAL_MASS));
    const xAcc = temp - (POLE_MASS_LENGTH * thetaAcc * cos) / TOTAL_MASS;
    // Explicit Euler: positions advance with the old velocities (Gymnasium's default integrator).
    x = x + TAU * xDot;
    xDot = xDot + TAU * xAcc;
    theta = theta + TAU * thetaDot;
    thetaDot = thetaDot + TAU * thetaAcc;
    s[0] = x;
    s[1] = xDot;
    s[2] = theta;
    s[3] = thetaDot;
    const terminated =
      x < -CARTPOLE_X_THRESHOLD ||
      x > CARTPOLE_X_THRESHOLD ||
      theta < -CARTPOLE_THETA_THRESHOLD ||
      theta > CARTPOLE_THETA_THRESHOLD;
    const reward = this.suttonBarto ? (terminated ? -1 : 0) : 1;
    return { observation: this.observe(s), reward, terminated };
  }

  /** The cart and pole as Gymnasium draws them (render/classic.ts). */
  renderFrame(): RenderFrame {
    return cartPoleFrame(drawnState(this.name, this.s), 2 * HALF_LENGTH);
  }

  protected observe(s: Float64Array): Float32Array {
    return Float32Array.from(s);
  }
}
