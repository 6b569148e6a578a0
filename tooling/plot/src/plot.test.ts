import { describe, expect, it } from 'vitest';
import { heatmapSpec, lineChartSpec, svgToPng, toSvg } from './index.js';

describe('plots', () => {
  it('renders a heatmap with one text mark per non-null cell, and a PNG', async () => {
    const cells = [
      { row: 0, col: 0, value: 0.99 },
      { row: 0, col: 1, value: null },
      { row: 1, col: 0, value: 0.42 },
      { row: 1, col: 1, value: 0.97 },
    ];
    const svg = await toSvg(heatmapSpec({ title: 'acc', cells, rowTitle: 'after task', colTitle: 'task' }));
    expect(svg.startsWith('<svg')).toBe(true);
    for (const t of ['99.00%', '42.00%', '97.00%']) expect(svg).toContain(t);
    const png = svgToPng(svg);
    expect(Array.from(png.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]); // "PNG"
  });
  it('renders a line chart', async () => {
    const rows = [1, 2, 3].map((x) => ({ x, y: 1 / x, series: 'a' }));
    expect(await toSvg(lineChartSpec({ title: 'loss', rows, xTitle: 'step', yTitle: 'loss' }))).toContain('loss');
  });
});
