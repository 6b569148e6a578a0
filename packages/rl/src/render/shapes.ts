/**
 * What an env draws: primitives in the env's own world units (x right, y up), one frame per step.
 * Classic-control envs draw their bodies (cart and pole, pendulum, car on the hill, acrobot links);
 * MuJoCo envs project their geoms onto the x–z plane. The renderer (`render/`) turns a sequence of
 * frames into an animated SVG (or GIF); it knows nothing of any env.
 */
export type Shape =
  /** A straight segment; `width` in world units. */
  | { kind: 'line'; x1: number; y1: number; x2: number; y2: number; width: number; color: string }
  /** A segment with round ends `r` wide on each side (MuJoCo capsules, links). */
  | { kind: 'capsule'; x1: number; y1: number; x2: number; y2: number; r: number; color: string }
  | { kind: 'circle'; cx: number; cy: number; r: number; color: string }
  /** A closed polygon (boxes, carts, the hill's outline). */
  | { kind: 'polygon'; points: readonly (readonly [number, number])[]; color: string }
  /** An open polyline (a curve such as MountainCar's hill). */
  | { kind: 'polyline'; points: readonly (readonly [number, number])[]; width: number; color: string };

/** The visible world rectangle of a frame. */
export interface View {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

export interface RenderFrame {
  /** The world rectangle to show. A walker's view moves with its torso. */
  view: View;
  shapes: Shape[];
}

/** An env that can draw its current state. */
export interface Renderable {
  renderFrame(): RenderFrame;
}

/** Whether an env (or the env under its wrappers: pass `env.unwrapped`) draws itself. */
export function isRenderable(env: unknown): env is Renderable {
  return typeof (env as Partial<Renderable> | null)?.renderFrame === 'function';
}
