import { describe, expect, it } from 'vitest';
import { ResetNeededError } from '../errors.js';
import { AcrobotEnv } from '../envs/classic/acrobot.js';
import { CartPoleEnv } from '../envs/classic/cartpole.js';
import { ContinuousMountainCarEnv } from '../envs/classic/continuous-mountain-car.js';
import { MountainCarEnv } from '../envs/classic/mountain-car.js';
import { PendulumEnv } from '../envs/classic/pendulum.js';
import { ENV_IDS, MUJOCO_ENV_IDS, makeEnv } from '../envs/registry.js';
import { mountainCarHeight } from './classic.js';
import { isRenderable, type RenderFrame, type Shape } from './shapes.js';

type Of<K extends Shape['kind']> = Extract<Shape, { kind: K }>;
/** The frame's shapes of one kind, in drawing order. */
const all = <K extends Shape['kind']>(f: RenderFrame, kind: K) => f.shapes.filter((s): s is Of<K> => s.kind === kind);

const near = (a: number, b: number, what: string) => expect(a, what).toBeCloseTo(b, 10);

// A few states each, beyond the reset ranges (every sign of every angle).
const ANGLES = [0, 0.1, -0.2, 1.3, -2.5, Math.PI];

describe('classic-control frames: drawn from the state with Gymnasium’s proportions', () => {
  it('the five classic envs draw themselves (through makeEnv’s TimeLimit too); none before reset', () => {
    for (const id of ENV_IDS.filter((i) => !MUJOCO_ENV_IDS.includes(i))) {
      const env = makeEnv(id);
      expect(isRenderable(env.unwrapped), id).toBe(true);
      expect(() => (env.unwrapped as unknown as { renderFrame(): RenderFrame }).renderFrame()).toThrow(
        /renderFrame\(\) was called before reset\(\)/,
      );
      env.reset({ seed: 0 });
      const f = (env.unwrapped as unknown as { renderFrame(): RenderFrame }).renderFrame();
      expect(f.shapes.length, id).toBeGreaterThan(0);
    }
    expect(ResetNeededError.isInstance(catchError(() => new CartPoleEnv().renderFrame()))).toBe(true);
  });

  it('CartPole: cart 0.4 × 0.24 at (x, 0), pole of length 2·0.5 from the axle (x, 0.06) to + (sin θ, cos θ)', () => {
    const env = new CartPoleEnv();
    for (const x of [0, 1.1, -2.3])
      for (const theta of ANGLES) {
        env.setState([x, 0.5, theta, -1]);
        const f = env.renderFrame();
        expect(f.view).toEqual({ xMin: -2.4, xMax: 2.4, yMin: -0.8, yMax: 2.4 });
        const [track, pole] = all(f, 'line');
        expect(track).toMatchObject({ x1: -2.4, y1: 0, x2: 2.4, y2: 0 });
        const [cart] = all(f, 'polygon');
        const xs = cart!.points.map((p) => p[0]);
        const ys = cart!.points.map((p) => p[1]);
        near(Math.min(...xs), x - 0.2, 'cart left');
        near(Math.max(...xs), x + 0.2, 'cart right');
        near(Math.min(...ys), -0.12, 'cart bottom');
        near(Math.max(...ys), 0.12, 'cart top');
        near(pole!.x1, x, 'pole base x');
        near(pole!.y1, 0.06, 'pole base y (the axle, a quarter of the cart height up)');
        near(pole!.x2, x + Math.sin(theta), 'pole tip x');
        near(pole!.y2, 0.06 + Math.cos(theta), 'pole tip y');
        near(Math.hypot(pole!.x2 - pole!.x1, pole!.y2 - pole!.y1), 1, 'pole length');
        near(pole!.width, 10 / 125, 'pole width (10 of 125 px per unit)');
        const [axle] = all(f, 'circle');
        expect(axle).toMatchObject({ cx: x, r: 0.04 });
        near(axle!.cy, 0.06, 'axle');
      }
  });

  it('Pendulum: the rod of length l from the pivot to l·(−sin θ, cos θ), θ = 0 up, view ±(l + 1.2)', () => {
    for (const l of [1, 0.5, 1.7]) {
      const env = new PendulumEnv({ l });
      for (const theta of ANGLES) {
        env.setState([theta, 3]);
        const f = env.renderFrame();
        const b = l + 1.2;
        expect(f.view).toEqual({ xMin: -b, xMax: b, yMin: -b, yMax: b });
        const [rod] = all(f, 'capsule');
        expect(rod).toMatchObject({ x1: 0, y1: 0, r: 0.1 });
        near(rod!.x2, -l * Math.sin(theta), 'bob x');
        near(rod!.y2, l * Math.cos(theta), 'bob y');
        near(Math.hypot(rod!.x2, rod!.y2), l, 'rod length');
      }
    }
    const env = new PendulumEnv();
    env.setState([0, 0]);
    expect(env.renderFrame().view.xMax).toBe(2.2); // Gymnasium's bound for l = 1
  });

  it('MountainCar (both): hill y = sin(3x)·0.45 + 0.55, flag at the goal, car 0.03 above the track tilted cos(3x)', () => {
    for (const [env, goal] of [
      [new MountainCarEnv(), 0.5],
      [new ContinuousMountainCarEnv(), 0.45],
    ] as const)
      for (const x of [-1.2, -0.5, 0, 0.3, 0.6]) {
        env.setState([x, 0.01]);
        const f = env.renderFrame();
        expect(f.view).toEqual({ xMin: -1.2, xMax: 0.6, yMin: 0, yMax: 1.2 });
        const [hill] = all(f, 'polyline');
        expect(hill!.points).toHaveLength(100);
        near(hill!.points[0]![0], -1.2, 'hill start');
        near(hill!.points[99]![0], 0.6, 'hill end');
        for (const [hx, hy] of hill!.points) near(hy, Math.sin(3 * hx) * 0.45 + 0.55, `hill at ${hx}`);
        const [flagPole] = all(f, 'line');
        expect(flagPole).toMatchObject({ x1: goal, x2: goal });
        near(flagPole!.y1, mountainCarHeight(goal), 'flag foot on the track');
        near(flagPole!.y2 - flagPole!.y1, 50 * (1.8 / 600), 'flag pole 50 px high');
        const [pennant, car] = all(f, 'polygon');
        expect(pennant!.points[0]![0]).toBe(goal);
        // the car: base corners 0 and 3, top corners 1 and 2
        const [b0, t0, t1, b1] = car!.points as [number, number][];
        const mid = [(b0[0] + b1[0]) / 2, (b0[1] + b1[1]) / 2];
        near(mid[0]!, x, 'car base centre x');
        near(mid[1]!, mountainCarHeight(x) + 0.03, 'car base centre y: 10 px clearance');
        near(Math.hypot(b1[0] - b0[0], b1[1] - b0[1]), 0.12, 'car width 40 px');
        near(Math.hypot(t0[0] - b0[0], t0[1] - b0[1]), 0.06, 'car height 20 px');
        near(Math.atan2(b1[1] - b0[1], b1[0] - b0[0]), Math.cos(3 * x), 'tilt: cos(3x) radians, as Gymnasium');
        near(t1[0] - b1[0], -0.06 * Math.sin(Math.cos(3 * x)), 'top right corner');
        const wheels = all(f, 'circle');
        expect(wheels).toHaveLength(2);
        for (const w of wheels) {
          near(Math.hypot(w.cx - mid[0]!, w.cy - mid[1]!), 0.03, 'wheel a quarter car width from the middle');
          near(w.r, (20 / 2.5) * (1.8 / 600), 'wheel radius');
        }
      }
  });

  it('Acrobot: links of length 1 from the pivot, θ₁ = 0 hanging down; the tip is above the bar at y = 1 exactly when the episode terminates', () => {
    const env = new AcrobotEnv();
    for (const t1 of ANGLES)
      for (const t2 of [0, 0.7, -1.9, Math.PI]) {
        env.setState([t1, t2, 0, 0]);
        const f = env.renderFrame();
        expect(f.view).toEqual({ xMin: -2.2, xMax: 2.2, yMin: -2.2, yMax: 2.2 });
        const [bar, l1, l2] = all(f, 'line');
        expect(bar).toMatchObject({ x1: -2.2, y1: 1, x2: 2.2, y2: 1 });
        expect(l1).toMatchObject({ x1: 0, y1: 0, width: 0.2 });
        near(l1!.x2, Math.sin(t1), 'elbow x');
        near(l1!.y2, -Math.cos(t1), 'elbow y');
        expect([l2!.x1, l2!.y1]).toEqual([l1!.x2, l1!.y2]);
        near(l2!.x2, Math.sin(t1) + Math.sin(t1 + t2), 'tip x');
        near(l2!.y2, -Math.cos(t1) - Math.cos(t1 + t2), 'tip y: the termination height');
        near(Math.hypot(l2!.x2 - l2!.x1, l2!.y2 - l2!.y1), 1, 'second link length');
        const joints = all(f, 'circle');
        expect(joints.map((j) => [j.cx, j.cy, j.r])).toEqual([
          [0, 0, 0.1],
          [l1!.x2, l1!.y2, 0.1],
        ]);
      }
    // one step that ends the episode: the drawn tip is above the bar
    env.setState([Math.PI - 0.3, 0.1, 0, 0]);
    const r = env.step(1);
    const tip = all(env.renderFrame(), 'line')[2]!;
    expect(r.terminated).toBe(tip.y2 > 1);
    expect(r.terminated).toBe(true);
  });
});

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return null;
}
