import type { Rng } from '@hypernets/core';
import { Box } from '../spaces.js';
import { ClassicControlEnv, type Transition } from './classic-env.js';
import { drawnState, mountainCarFrame } from '../../render/classic.js';
import type { RenderFrame, Renderable } from '../../render/shapes.js';
import {
  MOUNTAIN_CAR_MAX_POSITION,
  MOUNTAIN_CAR_MAX_SPEED,
  MOUNTAIN_CAR_MIN_POSITION,
  checkGoalVelocity,
  mountainCarInitialState,
  mountainCarObservationSpace,
  type MountainCarOptions,
} from './mountain-car.js';

const GOAL_POSITION = 0.45;
const POWER = 0.0015;

/**
 * MountainCarContinuous-v0, Gymnasium's equations: the force is the action clipped to [−1, 1];
 * v += force·0.0015 − 0.0025 cos(3x), clipped to ±0.07; x += v, clipped to [−1.2, 0.6]; the left
 * wall stops a leftward car. Terminates at x ≥ 0.45 (and v ≥ goalVelocity) with +100; every step
 * costs 0.1·a² of the unclipped action. As in Gymnasium, the state is kept in float32 after each
 * step. Reset: x ~ U(−0.6, −0.4), v = 0.
 */
export class ContinuousMountainCarEnv extends ClassicControlEnv<Box> implements Renderable {
  readonly observationSpace = mountainCarObservationSpace();
  readonly actionSpace = new Box(-1.0, 1.0, [1]);
  protected readonly stateSize = 2;
  readonly goalVelocity: number;

  constructor(options: MountainCarOptions = {}) {
    super();
    this.goalVelocity = checkGoalVelocity(options);
  }

  protected initialState(rng: Rng, options: Record<string, unknown>): Float64Array {
    return mountainCarInitialState(this.name, rng, options);
  }

  protected transition(s: Float64Array, action: Float64Array): Transition {
    let position = s[0];
    let velocity = s[1];
    const force = Math.min(Math.max(action[0], -1.0), 1.0);
    velocity += force * POWER - 0.0025 * Math.cos(3 * position);
    if (velocity > MOUNTAIN_CAR_MAX_SPEED) velocity = MOUNTAIN_CAR_MAX_SPEED;
    if (velocity < -MOUNTAIN_CAR_MAX_SPEED) velocity = -MOUNTAIN_CAR_MAX_SPEED;
    position += velocity;
    if (position > MOUNTAIN_CAR_MAX_POSITION) position = MOUNTAIN_CAR_MAX_POSITION;
    if (position < MOUNTAIN_CAR_MIN_POSITION) position = MOUNTAIN_CAR_MIN_POSITION;
    if (position === MOUNTAIN_CAR_MIN_POSITION && velocity < 0) velocity = 0;
    const terminated = position >= GOAL_POSITION && velocity >= this.goalVelocity;
    const reward = (terminated ? 100.0 : 0) - action[0] * action[0] * 0.1;
    s[0] = Math.fround(position);
    s[1] = Math.fround(velocity);
    return { observation: this.observe(s), reward, terminated };
  }

  /** The hill, the flag at 0.45 and the car as Gymnasium draws them (render/classic.ts). */
  renderFrame(): RenderFrame {
    return mountainCarFrame(drawnState(this.name, this.s)[0], GOAL_POSITION);
  }

  protected observe(s: Float64Array): Float32Array {
    return Float32Array.from(s);
  }
}
