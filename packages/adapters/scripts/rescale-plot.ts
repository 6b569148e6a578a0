// The hyper-adapters plot: HyperFormer++'s training loss (a 25-step moving average over the
// tasks' steps) with and without the 1/√d rescaling, from the runs of scripts/rescale.sh.
//   npx tsx packages/adapters/scripts/rescale-plot.ts [runs/adapters-rescale/s0] [out base]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSpec, renderPlot } from '@hypernets/plot';

const dir = process.argv[2] ?? 'runs/adapters-rescale/s0';
const base = process.argv[3] ?? 'packages/adapters/results/rescale';
const rows: { x: number; y: number; series: string }[] = [];
for (const [name, title] of [
  ['plain', 'as generated'],
  ['rescaled', '× 1/√512'],
] as const) {
  const r = JSON.parse(readFileSync(join(dir, name, 'results.json'), 'utf8')) as {
    curve: { step: number; loss: number }[];
    avg_acc: number;
  };
  const w = 25;
  r.curve.forEach((c, i) => {
    if (i + 1 < w) return;
    const win = r.curve.slice(i + 1 - w, i + 1);
    rows.push({
      x: c.step,
      y: win.reduce((a, b) => a + b.loss, 0) / w,
      series: title,
    });
  });
}
const out = await renderPlot(
  lineChartSpec({
    title: 'HyperFormer++, 512-wide generator input: hyper-adapters rescaling',
    rows,
    xTitle: 'step',
    yTitle: 'training loss (25-step mean)',
    logY: false,
  }),
  base,
);
console.log(out);
