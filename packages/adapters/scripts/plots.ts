// The README's method plots from the benchmark's results (runs of scripts/benchmark.sh on the five
// default tasks, one folder per seed): test accuracy per task per method (mean over seeds), and
// average accuracy against trainable parameters per task (% of the backbone).
//   npx tsx packages/adapters/scripts/plots.ts [out dir] results-dir...   (default: packages/adapters/results s0 s1 s2)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderPlot, type TopLevelSpec } from '@hypernets/plot';

interface Result {
  tasks: string[];
  acc: Record<string, number>;
  avg_acc: number;
  params: { trainablePerTask: number; backbone: number };
}

const [outDir = 'packages/adapters/results', ...given] = process.argv.slice(2);
const dirs = given.length ? given : ['s0', 's1', 's2'].map((s) => join(outDir, s)).filter((d) => existsSync(d));
const runs = new Map<string, Result[]>();
for (const dir of dirs)
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Result;
    const name = f.slice(0, -5);
    runs.set(name, [...(runs.get(name) ?? []), r]);
  }
// the five-task benchmark only (PHA's source without spam and the Hyper-X grid have other tasks)
const tasks = ['spam', 'sotu-party', 'brown-coarse', 'reuters-grain', 'wordnet-gloss'];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const bars: { method: string; task: string; acc: number }[] = [];
const points: { method: string; params: number; acc: number; seeds: number }[] = [];
for (const [method, rs] of runs) {
  if (rs[0]!.tasks.join(',') !== tasks.join(',')) continue;
  for (const t of [...tasks, 'average'])
    bars.push({ method, task: t, acc: mean(rs.map((r) => (t === 'average' ? r.avg_acc : r.acc[t]!))) });
  const p = rs[0]!.params;
  points.push({
    method,
    params: (100 * p.trainablePerTask) / p.backbone,
    acc: mean(rs.map((r) => r.avg_acc)),
    seeds: rs.length,
  });
}
const accAxis = { type: 'quantitative', scale: { domain: [0.3, 1] }, axis: { format: '%' } } as const;
const perTask = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: 'Test accuracy per task and method (mean over seeds; 800 steps, the USE-lite backbone frozen)',
  data: { values: bars },
  width: { step: 9 },
  height: 260,
  mark: { type: 'bar' },
  encoding: {
    x: { field: 'task', type: 'nominal', sort: [...tasks, 'average'], title: null, axis: { labelAngle: 0 } },
    xOffset: { field: 'method', type: 'nominal' },
    y: { field: 'acc', ...accAxis, title: 'test accuracy', scale: { domain: [0.3, 1], clamp: true } },
    color: { field: 'method', type: 'nominal', title: null, legend: { labelLimit: 300 } },
  },
} as unknown as TopLevelSpec;
const tradeOff = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: 'Average test accuracy vs trainable parameters per task',
  data: { values: points },
  width: 420,
  height: 280,
  encoding: {
    x: {
      field: 'params',
      type: 'quantitative',
      scale: { type: 'log' },
      title: 'trainable parameters per task, % of the backbone (log)',
    },
    y: {
      field: 'acc',
      type: 'quantitative',
      scale: { zero: false },
      axis: { format: '%' },
      title: 'average test accuracy',
    },
  },
  layer: [
    {
      mark: { type: 'point', filled: true, size: 70 },
      encoding: { color: { field: 'method', type: 'nominal', legend: null } },
    },
    { mark: { type: 'text', dx: 6, align: 'left', fontSize: 10 }, encoding: { text: { field: 'method' } } },
  ],
} as unknown as TopLevelSpec;
console.log(await renderPlot(perTask, join(outDir, 'methods')));
console.log(await renderPlot(tradeOff, join(outDir, 'params-vs-accuracy')));
