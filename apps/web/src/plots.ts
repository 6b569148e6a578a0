// The page's charts: vega-lite specs embedded with vega-embed when their first rows arrive (an
// empty data set makes vega warn about infinite extents); later updates replace the named data
// set in the running view (no re-embedding, so redraws keep up with a dragged pointer).
import embed from 'vega-embed';
import type { View } from 'vega';
import type { TopLevelSpec } from 'vega-lite';

export interface Chart {
  /** Replaces the chart's rows and redraws (the first call embeds the chart). */
  set(rows: object[]): Promise<void>;
}

const common = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 'container',
  height: 220,
  autosize: { type: 'fit-x', contains: 'padding' },
  config: { axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { orient: 'bottom' } },
} as const;

/** A chart of `spec`, whose data is the named data set `name`. */
export function chart(el: HTMLElement, spec: TopLevelSpec, name: string): Chart {
  let view: Promise<View> | undefined;
  return {
    async set(rows) {
      if (!view) {
        view = embed(el, { ...spec, data: { name, values: rows } } as TopLevelSpec, {
          actions: false,
          renderer: 'svg',
        }).then((r) => r.view);
        await view;
        return;
      }
      const v = await view;
      v.data(name, rows);
      await v.runAsync();
    },
  };
}

/** Training loss by step (log scale). Data set: 'loss' rows { step, loss }. */
export function lossSpec(): TopLevelSpec {
  return {
    ...common,
    height: 160,
    data: { name: 'loss' },
    mark: { type: 'line', point: false },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'loss', type: 'quantitative', title: 'training MSE', scale: { type: 'log' } },
    },
  } as TopLevelSpec;
}

/** Generated vs true curve. Data set: 'curves' rows { x, y, curve: 'generated' | 'true' }. */
export function curveSpec(): TopLevelSpec {
  return {
    ...common,
    data: { name: 'curves' },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'x', scale: { domain: [-3.2, 3.2], nice: false } },
      y: { field: 'y', type: 'quantitative', title: 'y', scale: { domain: [-2.2, 2.2], nice: false } },
      color: {
        field: 'curve',
        type: 'nominal',
        title: null,
        scale: { domain: ['true', 'generated'], range: ['#9aa5b1', '#d9480f'] },
      },
      strokeDash: {
        field: 'curve',
        type: 'nominal',
        legend: null,
        scale: {
          domain: ['true', 'generated'],
          range: [
            [4, 3],
            [1, 0],
          ],
        },
      },
    },
  } as TopLevelSpec;
}

/** One batched pass: a curve per condition. Data set: 'family' rows { x, y, id, amplitude }. */
export function familySpec(): TopLevelSpec {
  return {
    ...common,
    height: 200,
    data: { name: 'family' },
    mark: { type: 'line', strokeWidth: 1.5, opacity: 0.85 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'x', scale: { domain: [-3.2, 3.2], nice: false } },
      y: { field: 'y', type: 'quantitative', title: 'generated y', scale: { domain: [-2.2, 2.2], nice: false } },
      detail: { field: 'id', type: 'nominal' },
      color: { field: 'phase', type: 'quantitative', title: 'φ', scale: { scheme: 'viridis' } },
    },
  } as TopLevelSpec;
}

/**
 * An accuracy matrix as a heatmap: row = after training task i, column = tested on task j, filling in
 * as tasks finish. Data set: 'acc' rows { after, task, acc } (1-based task numbers, acc in %).
 */
export function accuracyHeatmapSpec(title: string, numTasks: number): TopLevelSpec {
  const tasks = Array.from({ length: numTasks }, (_, i) => i + 1);
  return {
    ...common,
    width: 'container',
    height: Math.max(90, 34 * numTasks),
    title: { text: title, fontSize: 13 },
    data: { name: 'acc' },
    encoding: {
      x: { field: 'task', type: 'ordinal', title: 'tested on task', scale: { domain: tasks } },
      y: { field: 'after', type: 'ordinal', title: 'after training task', scale: { domain: tasks } },
    },
    layer: [
      {
        mark: { type: 'rect' },
        encoding: {
          color: {
            field: 'acc',
            type: 'quantitative',
            title: 'accuracy %',
            scale: { domain: [50, 100], scheme: 'viridis', clamp: true },
          },
        },
      },
      {
        mark: { type: 'text', fontSize: 11 },
        encoding: {
          text: { field: 'acc', type: 'quantitative', format: '.1f' },
          color: { condition: { test: 'datum.acc < 80', value: 'white' }, value: 'black' },
        },
      },
    ],
  } as TopLevelSpec;
}
