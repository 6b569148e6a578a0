import { ConfigError, type Rng } from '@hypernets/core';
import { Box, Discrete } from '../spaces.js';
import { ClassicControlEnv, resetBounds, uniform, type Transition } from './classic-env.js';
import { drawnState, mountainCarFrame } from '../../render/classic.js';
import type { RenderFrame, Renderable } from '../../render/shapes.js';

export interface MountainCarOptions {
  /** The velocity the car must have at the flag (default 0). */
  goalVelocity?: number;
}

export const MOUNTAIN_CAR_MIN_POSITION = -1.2;
export const MOUNTAIN_CAR_MAX_POSITION = 0.6;
export const MOUNTAIN_CAR_MAX_SPEED = 0.07;
const GOAL_POSITION = 0.5;
const FORCE = 0.001;
const GRAVITY = 0.0025;

/** [x, v] bounded by the track and the speed limit (both mountain cars). */
export function mountainCarObservationSpace(): Box {
  return new Box(
    [MOUNTAIN_CAR_MIN_POSITION, -MOUNTAIN_CAR_MAX_SPEED],
    [MOUNTAIN_CAR_MAX_POSITION, MOUNTAIN_CAR_MAX_SPEED],
  );
}

/** The `goalVelocity` option of both mountain cars (default 0). */
export function checkGoalVelocity(options: MountainCarOptions): number {
  const v = options.goalVelocity ?? 0;
  if (!Number.isFinite(v)) throw new ConfigError('goalVelocity', `must be a finite number, got ${v}`);
  return v;
}

/** Both mountain cars' reset: x ~ U(−0.6, −0.4) (or the `low`/`high` options), v = 0. */
export function mountainCarInitialState(name: string, rng: Rng, options: Record<string, unknown>): Float64Array {
  const [low, high] = resetBounds(name, options, -0.6, -0.4);
  return Float64Array.of(uniform(rng, low, high), 0);
}

/**
 * MountainCar-v0 (Moore 1990), Gymnasium's equations: v += (a − 1)·0.001 − 0.0025 cos(3x), clipped
 * to ±0.07; x += v, clipped to [−1.2, 0.6]; at the left wall a leftward velocity becomes 0.
 * Terminates at x ≥ 0.5 (and v ≥ goalVelocity); reward −1 per step. Reset: x ~ U(−0.6, −0.4), v = 0.
 */
export class MountainCarEnv extends ClassicControlEnv<Discrete> implements Renderable {
  readonly observationSpace = mountainCarObservationSpace();
  /** 0 accelerates left, 1 does nothing, 2 accelerates right. */
  readonly actionSpace = new Discrete(3);
  protected readonly stateSize = 2;
  readonly goalVelocity: number;

  constructor(options: MountainCarOptions = {}) {
    super();
    this.goalVelocity = checkGoalVelocity(options);
  }

  protected initialState(rng: Rng, options: Record<string, unknown>): Float64Array {
    return mountainCarInitialState(this.name, rng, options);
  }

  protected transition(s: Float64Array, action: number): Transition {
    let position = s[0];
    let velocity = s[1];
    velocity += (action - 1) * FORCE + Math.cos(3 * position) * -GRAVITY;
    velocity = Math.min(Math.max(velocity, -MOUNTAIN_CAR_MAX_SPEED), MOUNTAIN_CAR_MAX_SPEED);
    position += velocity;
    position = Math.min(Math.max(position, MOUNTAIN_CAR_MIN_POSITION), MOUNTAIN_CAR_MAX_POSITION);
    if (position === MOUNTAIN_CAR_MIN_POSITION && velocity < 0) velocity = 0;
    s[0] = position;
    s[1] = velocity;
    const terminated = position >= GOAL_POSITION && velocity >= this.goalVelocity;
    return { observation: this.observe(s), reward: -1.0, terminated };
  }

  /** The hill, the flag at 0.5 and the car as Gymnasium draws them (render/classic.ts). */
  renderFrame(): RenderFrame {
    return mountainCarFrame(drawnState(this.name, this.s)[0], GOAL_POSITION);
  }

  protected observe(s: Float64Array): Float32Array {
    return Float32Array.from(s);
  }
}
