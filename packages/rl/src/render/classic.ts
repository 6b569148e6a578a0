import { ResetNeededError } from '../errors.js';
import type { RenderFrame, Shape } from './shapes.js';

/**
 * The classic-control envs' pictures, in world units (x right, y up), with the sizes and colours
 * of Gymnasium's `render()` (classic_control/*.py) divided by its pixels per unit: CartPole's
 * 600 × 400 screen shows 4.8 units across (125 px per unit), Pendulum's and Acrobot's 500 × 500
 * screens 4.4 units, MountainCar's 600 × 400 screen 1.8 units. Each env's `renderFrame()` calls
 * one of these with its state. Pure functions of the state: browser-safe, no drawing library.
 */

/** The state to draw, or ResetNeededError before the first reset. */
export function drawnState(env: string, state: Float64Array | null): Float64Array {
  if (!state) throw new ResetNeededError(env, 'renderFrame() was called before reset()');
  return state;
}

const BLACK = '#000000';

// CartPole: 125 px per unit (600 px across ±2.4).
const CART_PX = 1 / 125;
const CART_WIDTH = 50 * CART_PX;
const CART_HEIGHT = 30 * CART_PX;
const POLE_WIDTH = 10 * CART_PX;
const AXLE_OFFSET = CART_HEIGHT / 4;

/**
 * CartPole: the track (y = 0) across the view, the cart (0.4 × 0.24, centred on (x, 0)), the pole
 * (0.08 wide) from the axle (x, 0.06) to the axle + `poleLength`·(sin θ, cos θ) (θ = 0 upright,
 * positive to the right), the axle (r 0.04). View x ∈ [−2.4, 2.4] (the termination bounds),
 * y ∈ [−0.8, 2.4] (Gymnasium's screen, the track 100 px above its bottom).
 */
export function cartPoleFrame(state: ArrayLike<number>, poleLength: number): RenderFrame {
  const x = state[0]!;
  const theta = state[2]!;
  const axleY = AXLE_OFFSET;
  const w = CART_WIDTH / 2;
  const h = CART_HEIGHT / 2;
  return {
    view: { xMin: -2.4, xMax: 2.4, yMin: -0.8, yMax: 2.4 },
    shapes: [
      { kind: 'line', x1: -2.4, y1: 0, x2: 2.4, y2: 0, width: CART_PX, color: BLACK },
      {
        kind: 'polygon',
        points: [
          [x - w, -h],
          [x - w, h],
          [x + w, h],
          [x + w, -h],
        ],
        color: BLACK,
      },
      {
        kind: 'line',
        x1: x,
        y1: axleY,
        x2: x + poleLength * Math.sin(theta),
        y2: axleY + poleLength * Math.cos(theta),
        width: POLE_WIDTH,
        color: '#ca9865',
      },
      { kind: 'circle', cx: x, cy: axleY, r: POLE_WIDTH / 2, color: '#8184cb' },
    ],
  };
}

/**
 * Pendulum: the rod (0.2 wide, round ends) from the pivot at the origin to the bob at
 * l·(−sin θ, cos θ) — θ = 0 upright, positive counterclockwise, as Gymnasium draws it — and the
 * axle (r 0.05). View ±(l + 1.2) both ways (Gymnasium's ±2.2 for l = 1). Gymnasium's torque arrow
 * (an image scaled by the last action) is not drawn.
 */
export function pendulumFrame(theta: number, length: number): RenderFrame {
  const b = length + 1.2;
  return {
    view: { xMin: -b, xMax: b, yMin: -b, yMax: b },
    shapes: [
      {
        kind: 'capsule',
        x1: 0,
        y1: 0,
        x2: -length * Math.sin(theta),
        y2: length * Math.cos(theta),
        r: 0.1,
        color: '#cc4d4d',
      },
      { kind: 'circle', cx: 0, cy: 0, r: 0.05, color: BLACK },
    ],
  };
}

/** Both mountain cars' track: y = sin(3x)·0.45 + 0.55. */
export function mountainCarHeight(x: number): number {
  return Math.sin(3 * x) * 0.45 + 0.55;
}

// MountainCar: 600 px across 1.8 units.
const CAR_PX = 1.8 / 600;
const CAR_WIDTH = 40 * CAR_PX;
const CAR_HEIGHT = 20 * CAR_PX;
const CLEARANCE = 10 * CAR_PX;
const HILL_POINTS = 100;

/**
 * MountainCar (both): the hill (100 points over [−1.2, 0.6]), the flag at the goal (a pole
 * 0.15 high, a yellow pennant), the car (0.12 × 0.06, 0.03 above the track, tilted by cos(3x)
 * radians as Gymnasium tilts it) and its two wheels (r 0.024, ±0.03 along the car's base).
 * View x ∈ [−1.2, 0.6], y ∈ [0, 1.2].
 */
export function mountainCarFrame(position: number, goalPosition: number): RenderFrame {
  const hill: [number, number][] = [];
  for (let i = 0; i < HILL_POINTS; i++) {
    const x = -1.2 + (1.8 * i) / (HILL_POINTS - 1);
    hill.push([x, mountainCarHeight(x)]);
  }
  const flagY1 = mountainCarHeight(goalPosition);
  const flagY2 = flagY1 + 50 * CAR_PX;
  const angle = Math.cos(3 * position);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const baseY = mountainCarHeight(position) + CLEARANCE;
  // a point of the car's own frame (origin at the middle of its base), rotated and placed
  const at = (px: number, py: number): [number, number] => [position + px * c - py * s, baseY + px * s + py * c];
  const w = CAR_WIDTH / 2;
  const wheel = (px: number): Shape => {
    const [cx, cy] = at(px, 0);
    return { kind: 'circle', cx, cy, r: CAR_HEIGHT / 2.5, color: '#808080' };
  };
  return {
    view: { xMin: -1.2, xMax: 0.6, yMin: 0, yMax: 1.2 },
    shapes: [
      { kind: 'polyline', points: hill, width: CAR_PX, color: BLACK },
      { kind: 'line', x1: goalPosition, y1: flagY1, x2: goalPosition, y2: flagY2, width: CAR_PX, color: BLACK },
      {
        kind: 'polygon',
        points: [
          [goalPosition, flagY2],
          [goalPosition, flagY2 - 10 * CAR_PX],
          [goalPosition + 25 * CAR_PX, flagY2 - 5 * CAR_PX],
        ],
        color: '#cccc00',
      },
      { kind: 'polygon', points: [at(-w, 0), at(-w, CAR_HEIGHT), at(w, CAR_HEIGHT), at(w, 0)], color: BLACK },
      wheel(CAR_WIDTH / 4),
      wheel(-CAR_WIDTH / 4),
    ],
  };
}

/**
 * Acrobot: the bar the tip must rise above (y = 1), the two links (0.2 wide) from the pivot at
 * the origin — the first to l₁·(sin θ₁, −cos θ₁) (θ₁ = 0 hanging down), the second on to
 * + l₂·(sin(θ₁ + θ₂), −cos(θ₁ + θ₂)) — and a joint (r 0.1) at the start of each. View
 * ±(l₁ + l₂ + 0.2) both ways.
 */
export function acrobotFrame(state: ArrayLike<number>, length1: number, length2: number): RenderFrame {
  const t1 = state[0]!;
  const t12 = t1 + state[1]!;
  const p1x = length1 * Math.sin(t1);
  const p1y = -length1 * Math.cos(t1);
  const p2x = p1x + length2 * Math.sin(t12);
  const p2y = p1y - length2 * Math.cos(t12);
  const b = length1 + length2 + 0.2;
  const link = '#00cccc';
  const joint = '#cccc00';
  return {
    view: { xMin: -b, xMax: b, yMin: -b, yMax: b },
    shapes: [
      { kind: 'line', x1: -b, y1: 1, x2: b, y2: 1, width: (2 * b) / 500, color: BLACK },
      { kind: 'line', x1: 0, y1: 0, x2: p1x, y2: p1y, width: 0.2, color: link },
      { kind: 'circle', cx: 0, cy: 0, r: 0.1, color: joint },
      { kind: 'line', x1: p1x, y1: p1y, x2: p2x, y2: p2y, width: 0.2, color: link },
      { kind: 'circle', cx: p1x, cy: p1y, r: 0.1, color: joint },
    ],
  };
}
