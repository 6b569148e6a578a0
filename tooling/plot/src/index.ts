import { writeFile } from 'node:fs/promises';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec };

/** A vega-lite spec as SVG text, rendered headless (no canvas, no browser). */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG text rasterised to PNG bytes by resvg (2× for sharp text), on a white background. */
export function svgToPng(svg: string, zoom = 2): Uint8Array {
  return new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: zoom }, font: { loadSystemFonts: true } })
    .render()
    .asPng();
}

/** Writes `${base}.svg` and `${base}.png`; returns both paths. */
export async function renderPlot(spec: TopLevelSpec, base: string): Promise<{ svg: string; png: string }> {
  const svg = await toSvg(spec);
  await writeFile(`${base}.svg`, svg);
  await writeFile(`${base}.png`, svgToPng(svg));
  return { svg: `${base}.svg`, png: `${base}.png` };
}

/** Line chart of rows { x, y, series } (log y by default): loss curves. */
export function lineChartSpec(o: {
  title: string;
  rows: { x: number; y: number; series: string }[];
  xTitle: string;
  yTitle: string;
  logY?: boolean;
}): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: 560,
    height: 320,
    data: { values: o.rows },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.xTitle },
      y: { field: 'y', type: 'quantitative', scale: { type: o.logY === false ? 'linear' : 'log' }, title: o.yTitle },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}

/**
 * Heatmap of a matrix with the value printed in each cell: rows { row, col, value } (null
 * cells are left blank). Accuracy matrices: row = after training task i, col = task j.
 */
export function heatmapSpec(o: {
  title: string;
  cells: { row: number; col: number; value: number | null }[];
  rowTitle: string;
  colTitle: string;
  format?: string;
}): TopLevelSpec {
  const values = o.cells.filter((c) => c.value !== null);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    data: { values },
    encoding: {
      x: { field: 'col', type: 'ordinal', title: o.colTitle },
      y: { field: 'row', type: 'ordinal', title: o.rowTitle },
    },
    layer: [
      {
        mark: 'rect',
        encoding: { color: { field: 'value', type: 'quantitative', scale: { scheme: 'viridis' }, title: null } },
      },
      {
        mark: { type: 'text', fontSize: 11 },
        encoding: {
          text: { field: 'value', type: 'quantitative', format: o.format ?? '.2%' },
          color: { condition: { test: 'datum.value < 0.6', value: 'white' }, value: 'black' },
        },
      },
    ],
    config: { axis: { labelAngle: 0 }, view: { step: 44 } },
  };
}
