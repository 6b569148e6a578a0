// Example-only: renders a vega-lite spec to SVG with vega's headless renderer (no canvas, no browser).
import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

/** Writes `${base}.svg` and `${base}.png` (the PNG rasterised by resvg, 2x). */
export async function renderPlot(spec: TopLevelSpec, base: string): Promise<void> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  writeFileSync(`${base}.svg`, svg);
  const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true } }).render().asPng();
  writeFileSync(`${base}.png`, png);
}

/** Log-scale loss curves, one line per series: rows { step, loss, series }. */
export function lossCurveSpec(title: string, rows: { step: number; loss: number; series: string }[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 560,
    height: 320,
    data: { values: rows },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: 'test MSE (log scale)' },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}
