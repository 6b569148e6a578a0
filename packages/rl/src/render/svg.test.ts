import { describe, expect, it } from 'vitest';
import { ConfigError } from '@hypernets/core';
import { CartPoleEnv } from '../envs/classic/cartpole.js';
import { makeEnv } from '../envs/registry.js';
import { recordRollout } from './rollout.js';
import type { RenderFrame } from './shapes.js';
import { formatNumber, framesToSvg, pixelMapping } from './svg.js';

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/**
 * A strict little XML parser for what framesToSvg writes (elements, attributes in double quotes,
 * character references, text): throws on anything not well-formed (mismatched or unclosed tags,
 * a bad attribute, a stray '<' or '&', two roots).
 */
function parseXml(src: string): XmlElement {
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack = [root];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[A-Za-z][\w:-]*="[^"<]*")*)\s*(\/?)>/y;
  const attr = /\s+([A-Za-z][\w:-]*)="([^"<]*)"/g;
  const checkText = (t: string) => {
    if (/&(?!#\d+;|amp;|lt;|gt;|quot;|apos;)/.test(t)) throw new Error(`bad entity in '${t}'`);
  };
  let i = 0;
  while (i < src.length) {
    if (src[i] !== '<') {
      const end = src.indexOf('<', i);
      const text = src.slice(i, end < 0 ? src.length : end);
      checkText(text);
      if (stack.length === 1 && text.trim() !== '') throw new Error(`text outside the root: '${text.trim()}'`);
      stack[stack.length - 1]!.text += text;
      i = end < 0 ? src.length : end;
      continue;
    }
    tag.lastIndex = i;
    const m = tag.exec(src);
    if (!m) throw new Error(`not a tag at ${i}: '${src.slice(i, i + 40)}'`);
    const [whole, closing, name, attrText, selfClosing] = m;
    i += whole.length;
    if (closing) {
      const open = stack.pop()!;
      if (open.name !== name) throw new Error(`</${name}> closes <${open.name}>`);
      continue;
    }
    const el: XmlElement = { name: name!, attrs: {}, children: [], text: '' };
    for (const a of attrText!.matchAll(attr)) {
      if (a[1]! in el.attrs) throw new Error(`attribute ${a[1]} twice on <${name}>`);
      checkText(a[2]!);
      el.attrs[a[1]!] = a[2]!;
    }
    const parent = stack[stack.length - 1]!;
    if (parent === root && root.children.length > 0) throw new Error('two root elements');
    parent.children.push(el);
    if (!selfClosing) stack.push(el);
  }
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1]!.name}> is not closed`);
  return root.children[0]!;
}

const find = (e: XmlElement, name: string): XmlElement[] => [
  ...(e.name === name ? [e] : []),
  ...e.children.flatMap((c) => find(c, name)),
];

/** The frame groups of an animated SVG: the <g>s with an <animate> child. */
const frameGroups = (svg: XmlElement) =>
  svg.children.filter((c) => c.name === 'g' && c.children[0]?.name === 'animate');

const square = (shapes: RenderFrame['shapes']): RenderFrame => ({
  view: { xMin: -1, xMax: 1, yMin: -1, yMax: 1 },
  shapes,
});

describe('framesToSvg', () => {
  it('the parser used here refuses what is not well-formed', () => {
    expect(() => parseXml('<svg><g></svg>')).toThrow(/closes/);
    expect(() => parseXml('<svg><g>')).toThrow(/not closed/);
    expect(() => parseXml('<svg a="1" a="2"/>')).toThrow(/twice/);
    expect(() => parseXml('<svg>a & b</svg>')).toThrow(/entity/);
    expect(() => parseXml('<svg/><svg/>')).toThrow(/two root/);
    expect(parseXml('<svg x="1"><g/>t&#38;</svg>').children).toHaveLength(1);
  });

  it('a CartPole rollout: well-formed, one group per frame shown in turn for 1/fps s, the animation frames/fps long, looping', async () => {
    const env = makeEnv('CartPole-v1');
    const ro = await recordRollout(env, null, { seed: 3, maxSteps: 40 });
    const n = ro.frames.length;
    expect(n).toBe(ro.steps + 1);
    const text = framesToSvg(ro.frames, { fps: 50, width: 600 });
    const svg = parseXml(text);
    expect(svg.name).toBe('svg');
    expect(svg.attrs).toMatchObject({ xmlns: 'http://www.w3.org/2000/svg', width: '600', height: '400' });
    expect(svg.attrs.viewBox).toBe('0 0 600 400'); // height from the view's aspect: 4.8 × 3.2
    const groups = frameGroups(svg);
    expect(groups).toHaveLength(n);
    const shown: [number, number][] = [];
    groups.forEach((g, i) => {
      // a viewer without animation shows the first frame alone
      expect(g.attrs.display, `frame ${i}`).toBe(i === 0 ? undefined : 'none');
      const a = g.children[0]!.attrs;
      expect(a).toMatchObject({ attributeName: 'display', calcMode: 'discrete', repeatCount: 'indefinite' });
      expect(Number(a.dur!.replace(/s$/, ''))).toBeCloseTo(n / 50, 6);
      const values = a.values!.split(';');
      const times = a.keyTimes!.split(';').map(Number);
      expect(values.length).toBe(times.length);
      expect(times[0]).toBe(0);
      for (let k = 1; k < times.length; k++) expect(times[k]).toBeGreaterThan(times[k - 1]!);
      const on = values.indexOf('inline');
      expect(values.filter((v) => v === 'inline')).toHaveLength(1);
      shown.push([times[on]!, on + 1 < times.length ? times[on + 1]! : 1]);
    });
    // every instant of the loop shows exactly one frame, in order, each for 1/n of it
    shown.forEach(([from, to], i) => {
      expect(from).toBeCloseTo(i / n, 6);
      expect(to).toBeCloseTo((i + 1) / n, 6);
    });
    // the track, the same in every frame, is drawn once under the frames
    const lines = find(svg, 'line');
    const tracks = lines.filter((l) => l.attrs.x1 === '0' && l.attrs.x2 === '600');
    expect(tracks).toHaveLength(1);
    expect(svg.children.findIndex((c) => c.children.includes(tracks[0]!))).toBeLessThan(
      svg.children.indexOf(groups[0]!),
    );
    // each frame: the cart, the pole, the axle
    for (const g of groups) expect(g.children.slice(1).map((c) => c.name)).toEqual(['polygon', 'line', 'circle']);
    // coordinates at most 2 decimals; a 41-frame CartPole clip stays small
    for (const m of text.matchAll(/-?\d+\.(\d+)/g)) expect(m[1]!.length).toBeLessThanOrEqual(6);
    for (const l of lines) for (const k of ['x1', 'y1', 'x2', 'y2']) expect(l.attrs[k]).toMatch(/^-?\d+(\.\d{1,2})?$/);
    expect(text.length).toBeLessThan(450 * n);
  });

  it("maps world to pixels as stated: at Gymnasium's 600 × 400 the cart and axle land on Gymnasium's pixels", () => {
    const env = new CartPoleEnv();
    env.setState([0.5, 0, 0.1, 0]);
    const svg = parseXml(framesToSvg([env.renderFrame()], { width: 600, height: 400 }));
    // Gymnasium: cartx = x·125 + 300, carty = 100 (from the bottom), cart ±25 × ±15 px, axle 7.5 px up
    const cart = find(svg, 'polygon')[0]!
      .attrs.points!.split(' ')
      .map((p) => p.split(',').map(Number));
    const gym = [
      [362.5 - 25, 100 - 15],
      [362.5 - 25, 100 + 15],
      [362.5 + 25, 100 + 15],
      [362.5 + 25, 100 - 15],
    ].map(([x, y]) => [x, 400 - y]); // pygame's surface is flipped before display
    expect(cart).toEqual(gym);
    const axle = find(svg, 'circle')[0]!.attrs;
    expect([Number(axle.cx), Number(axle.cy), Number(axle.r)]).toEqual([362.5, 400 - 107.5, 5]);
    // the pole: 10 px wide, 125 px long from the axle, leaning right by θ
    const pole = find(svg, 'line')[1]!.attrs;
    expect(Number(pole['stroke-width'])).toBe(10);
    expect(Number(pole.x2)).toBeCloseTo(362.5 + 125 * Math.sin(0.1), 2);
    expect(Number(pole.y2)).toBeCloseTo(400 - 107.5 - 125 * Math.cos(0.1), 2);
  });

  it('each frame with its own view: fitted whole with one scale, centred, y flipped; rounded to the decimals asked', () => {
    const m = pixelMapping({ xMin: 0, xMax: 4, yMin: 0, yMax: 1 }, 200, 200);
    expect(m.scale).toBe(50);
    expect([m.x(0), m.x(4), m.y(1), m.y(0)]).toEqual([0, 200, 75, 125]); // letterboxed: 50 px tall, centred
    const f = (xMin: number): RenderFrame => ({
      view: { xMin, xMax: xMin + 2, yMin: 0, yMax: 1 },
      shapes: [{ kind: 'circle', cx: 1.123456, cy: 0.25, r: 0.1, color: '#123456' }],
    });
    const svg = parseXml(framesToSvg([f(0), f(1)], { width: 100, height: 50, decimals: 3, fps: 10 }));
    const circles = find(svg, 'circle').map((c) => c.attrs);
    expect(circles).toEqual([
      { cx: '56.173', cy: '37.5', r: '5', fill: '#123456' },
      { cx: '6.173', cy: '37.5', r: '5', fill: '#123456' }, // the view moved right by 1: the circle 50 px left
    ]);
    expect(frameGroups(svg)[0]!.children[0]!.attrs.dur).toBe('0.2s');
    expect(formatNumber(-0.0001, 2)).toBe('0');
    expect(formatNumber(2.5, 2)).toBe('2.5');
    expect(formatNumber(1 / 3, 2)).toBe('0.33');
  });

  it('every shape kind; one frame has no animation; loop: false stops on the last frame; bad input refused', () => {
    const shapes: RenderFrame['shapes'] = [
      { kind: 'line', x1: -1, y1: 0, x2: 1, y2: 0, width: 0.01, color: '#000' },
      { kind: 'capsule', x1: 0, y1: 0, x2: 0, y2: 1, r: 0.1, color: 'red' },
      { kind: 'circle', cx: 0, cy: 0, r: 0.5, color: '#00f' },
      {
        kind: 'polygon',
        points: [
          [0, 0],
          [1, 0],
          [0, 1],
        ],
        color: 'a"b<c',
      },
      {
        kind: 'polyline',
        points: [
          [-1, -1],
          [0, 0.5],
        ],
        width: 0.02,
        color: '#0f0',
      },
      { kind: 'circle', cx: Number.NaN, cy: 0, r: 1, color: '#000' }, // a diverged state: left out
    ];
    const one = framesToSvg([square(shapes)], { width: 100, height: 100, title: 'a & b' });
    const svg = parseXml(one);
    expect(find(svg, 'animate')).toHaveLength(0);
    expect(find(svg, 'title')[0]!.text).toBe('a &#38; b');
    expect(find(svg, 'line').map((l) => l.attrs)).toEqual([
      { x1: '0', y1: '50', x2: '100', y2: '50', stroke: '#000', 'stroke-width': '0.5' },
      { x1: '50', y1: '50', x2: '50', y2: '0', stroke: 'red', 'stroke-width': '10', 'stroke-linecap': 'round' },
    ]);
    expect(find(svg, 'circle')).toHaveLength(1);
    expect(find(svg, 'polygon')[0]!.attrs).toEqual({ points: '50,50 100,50 50,0', fill: 'a&#34;b&#60;c' });
    expect(find(svg, 'polyline')[0]!.attrs).toMatchObject({ points: '0,100 50,25', fill: 'none', 'stroke-width': '1' });

    const moving = [0, 0.5, 1].map((x) => square([{ kind: 'circle', cx: x, cy: 0, r: 0.1, color: '#000' }]));
    const once = parseXml(framesToSvg(moving, { loop: false, fps: 3 }));
    const anims = find(once, 'animate').map((a) => a.attrs);
    expect(anims.every((a) => a.repeatCount === '1' && a.fill === 'freeze' && a.dur === '1s')).toBe(true);
    expect(anims[2]!.values!.split(';').at(-1)).toBe('inline'); // the last frame stays
    expect(anims[0]!.values!.split(';').at(-1)).toBe('none');

    const isConfig = (f: () => unknown) => expect(f).toThrow(ConfigError);
    isConfig(() => framesToSvg([]));
    isConfig(() => framesToSvg(moving, { fps: 0 }));
    isConfig(() => framesToSvg(moving, { decimals: 1.5 }));
    isConfig(() => framesToSvg([{ view: { xMin: 1, xMax: 1, yMin: 0, yMax: 1 }, shapes: [] }]));
  });
});

describe('recordRollout', () => {
  it('a frame after the reset and after every step; seeded random actions repeat; a policy decides', async () => {
    const a = await recordRollout(makeEnv('CartPole-v1'), null, { seed: 7 });
    const b = await recordRollout(makeEnv('CartPole-v1'), null, { seed: 7 });
    expect(a.frames).toHaveLength(a.steps + 1);
    expect(a.rewards).toHaveLength(a.steps);
    expect(a.return).toBe(a.steps); // +1 a step
    expect(a.terminated).toBe(true); // random actions drop the pole long before 500 steps
    expect(b).toEqual(a);
    // a policy of the observation: push towards the side the pole leans to
    const calls: number[] = [];
    const balanced = await recordRollout(
      makeEnv('CartPole-v1'),
      async (obs) => {
        calls.push(obs.length);
        return obs[2]! + 0.5 * obs[3]! > 0 ? 1 : 0;
      },
      { seed: 7, maxSteps: 300 },
    );
    expect(balanced.steps).toBe(300); // this simple rule keeps it up
    expect(balanced.terminated || balanced.truncated).toBe(false);
    expect(calls).toHaveLength(300);
    expect(calls.every((n) => n === 4)).toBe(true);
    // the frames follow the states: the pole of the last frame is the state's
    const env = makeEnv('Pendulum-v1');
    const p = await recordRollout(env, () => [0], { seed: 1, maxSteps: 5 });
    const theta = (env.unwrapped as unknown as { state: Float64Array }).state[0]!;
    const rod = p.frames[5]!.shapes[0] as { x2: number; y2: number };
    expect(rod.x2).toBeCloseTo(-Math.sin(theta), 12);
    expect(rod.y2).toBeCloseTo(Math.cos(theta), 12);
    // the TimeLimit truncates: Pendulum's 200 steps
    const whole = await recordRollout(makeEnv('Pendulum-v1'), null, { seed: 1, maxSteps: 1000 });
    expect([whole.steps, whole.truncated, whole.terminated]).toEqual([200, true, false]);
  });

  it('refuses an env that does not draw itself', async () => {
    const env = makeEnv('CartPole-v1');
    const plain = Object.create(env) as typeof env;
    Object.defineProperty(plain, 'unwrapped', { value: {} });
    await expect(recordRollout(plain)).rejects.toThrow(/does not draw itself/);
  });
});
