import { ConfigError } from '@hypernets/core';
import type { RenderFrame, Shape, View } from './shapes.js';

export interface SvgOptions {
  /** Frames per second (default 30). The animation lasts frames / fps seconds. */
  fps?: number;
  /** Width in pixels (default 600). */
  width?: number;
  /** Height in pixels (default: the width times the first frame's view's height / width). */
  height?: number;
  /** Background colour (default white). */
  background?: string;
  /** Decimals of the pixel coordinates (default 2). */
  decimals?: number;
  /** Play again from the first frame at the end (default true); else stop on the last frame. */
  loop?: boolean;
  /** The SVG's <title> (shown by browsers as a tooltip); none by default. */
  title?: string;
}

/** Where a world point lands in pixels for one frame's view. */
export interface PixelMapping {
  /** Pixels per world unit (the same along x and y). */
  scale: number;
  x: (wx: number) => number;
  y: (wy: number) => number;
}

/**
 * The world → pixel mapping of a view in a width × height picture: the view fitted whole with one
 * scale along both axes (no stretching: circles stay round) and centred; y flipped (world y up,
 * SVG y down). A view of the picture's aspect fills it exactly: xMin → 0, xMax → width,
 * yMax → 0, yMin → height.
 */
export function pixelMapping(view: View, width: number, height: number): PixelMapping {
  const w = view.xMax - view.xMin;
  const h = view.yMax - view.yMin;
  if (!(w > 0 && h > 0) || !Number.isFinite(w) || !Number.isFinite(h))
    throw new ConfigError(
      'view',
      `needs xMin < xMax and yMin < yMax, finite, got x ${view.xMin}…${view.xMax}, y ${view.yMin}…${view.yMax}`,
    );
  const scale = Math.min(width / w, height / h);
  const ox = (width - scale * w) / 2;
  const oy = (height - scale * h) / 2;
  return { scale, x: (wx) => ox + (wx - view.xMin) * scale, y: (wy) => oy + (view.yMax - wy) * scale };
}

/**
 * An animated SVG of `frames`: the shapes common to the start of every frame (a track, a hill,
 * a flag) once, then one `<g>` per frame, each shown for 1 / fps seconds in turn by a SMIL
 * `<animate>` of its `display` (discrete key times over the whole animation's duration,
 * frames / fps seconds; looping by default). Browsers play it as an image or inline; a viewer
 * without animation shows the first frame. Each frame is drawn with its own view's mapping
 * (`pixelMapping`); coordinates are rounded to `decimals`. A shape with a non-finite number
 * (a diverged state) is left out.
 */
export function framesToSvg(frames: readonly RenderFrame[], options: SvgOptions = {}): string {
  if (frames.length === 0) throw new ConfigError('frames', 'needs at least one frame');
  const fps = options.fps ?? 30;
  if (!(fps > 0) || !Number.isFinite(fps)) throw new ConfigError('fps', `must be a positive number, got ${fps}`);
  const decimals = options.decimals ?? 2;
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 6)
    throw new ConfigError('decimals', `must be a whole number from 0 to 6, got ${decimals}`);
  const width = options.width ?? 600;
  const first = frames[0]!.view;
  const height =
    options.height ?? Math.max(1, Math.round((width * (first.yMax - first.yMin)) / (first.xMax - first.xMin)));
  for (const [name, v] of [['width', width] as const, ['height', height] as const])
    if (!(v > 0) || !Number.isFinite(v)) throw new ConfigError(name, `must be a positive number, got ${v}`);
  const num = (v: number) => formatNumber(v, decimals);
  const drawn = frames.map((f) => {
    const m = pixelMapping(f.view, width, height);
    return f.shapes.map((s) => shapeToSvg(s, m, num)).filter((s) => s !== '');
  });
  // the shapes every frame starts with are drawn once, under the frames
  let common = 0;
  for (; common < drawn[0]!.length; common++) {
    const el = drawn[0]![common];
    if (!drawn.every((d) => d[common] === el)) break;
  }
  const n = frames.length;
  const dur = `${formatNumber(n / fps, 6)}s`;
  const repeat = options.loop === false ? 'repeatCount="1" fill="freeze"' : 'repeatCount="indefinite"';
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" ` +
      `viewBox="0 0 ${num(width)} ${num(height)}">`,
  ];
  if (options.title !== undefined) out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect width="100%" height="100%" fill="${escapeXml(options.background ?? '#ffffff')}"/>`);
  if (common > 0) out.push(`<g>${drawn[0]!.slice(0, common).join('')}</g>`);
  drawn.forEach((d, i) => {
    const body = d.slice(common).join('');
    if (n === 1) {
      out.push(`<g>${body}</g>`);
      return;
    }
    // discrete: each value holds from its key time to the next; frame i shows over [i/n, (i+1)/n)
    const keys: [string, number][] = [];
    if (i > 0) keys.push(['none', 0]);
    keys.push(['inline', i / n]);
    if (i < n - 1) keys.push(['none', (i + 1) / n]);
    const values = keys.map(([v]) => v);
    const times = keys.map(([, t]) => formatNumber(t, 6));
    out.push(
      `<g${i > 0 ? ' display="none"' : ''}>` +
        `<animate attributeName="display" values="${values.join(';')}" keyTimes="${times.join(';')}" ` +
        `dur="${dur}" calcMode="discrete" ${repeat}/>${body}</g>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** One shape as an SVG element in pixels; '' when it holds a non-finite number. */
function shapeToSvg(s: Shape, m: PixelMapping, num: (v: number) => string): string {
  const color = escapeXml(s.color);
  const px = (x: number, y: number) => `${num(m.x(x))},${num(m.y(y))}`;
  const finite = (...xs: number[]) => xs.every(Number.isFinite);
  switch (s.kind) {
    case 'line':
    case 'capsule': {
      const w = s.kind === 'line' ? s.width : 2 * s.r;
      if (!finite(s.x1, s.y1, s.x2, s.y2, w)) return '';
      const cap = s.kind === 'capsule' ? ' stroke-linecap="round"' : '';
      return (
        `<line x1="${num(m.x(s.x1))}" y1="${num(m.y(s.y1))}" x2="${num(m.x(s.x2))}" y2="${num(m.y(s.y2))}" ` +
        `stroke="${color}" stroke-width="${num(w * m.scale)}"${cap}/>`
      );
    }
    case 'circle':
      if (!finite(s.cx, s.cy, s.r)) return '';
      return `<circle cx="${num(m.x(s.cx))}" cy="${num(m.y(s.cy))}" r="${num(s.r * m.scale)}" fill="${color}"/>`;
    case 'polygon':
      if (!s.points.every(([x, y]) => finite(x, y))) return '';
      return `<polygon points="${s.points.map(([x, y]) => px(x, y)).join(' ')}" fill="${color}"/>`;
    case 'polyline':
      if (!finite(s.width) || !s.points.every(([x, y]) => finite(x, y))) return '';
      return (
        `<polyline points="${s.points.map(([x, y]) => px(x, y)).join(' ')}" fill="none" stroke="${color}" ` +
        `stroke-width="${num(s.width * m.scale)}" stroke-linejoin="round"/>`
      );
    default:
      return '';
  }
}

/** `v` rounded to `decimals`, without trailing zeros or a negative zero (1.50 → "1.5", −0.001 → "0"). */
export function formatNumber(v: number, decimals: number): string {
  const r = Number(v.toFixed(decimals));
  return r === 0 ? '0' : String(r);
}

function escapeXml(s: string): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
