// The README's MoE language-model plots from the runs of scripts/moe-lm.sh: test BPC against k
// per router, and validation BPC (at k = 2) against the training step per router.
//   npx tsx packages/adapters/scripts/moe-plots.ts [out dir] [dir ...]   (default packages/adapters/results/moe-lm, runs/moe-lm/s0)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderPlot, type TopLevelSpec } from '@hypernets/plot';

interface Result {
  router: string;
  result: { tests: { k: number; bpc: number }[]; evals: { step: number; bpc: number }[] };
}

const [outDir = 'packages/adapters/results/moe-lm', ...given] = process.argv.slice(2);
const dirs = given.length ? given : ['runs/moe-lm/s0'];
const runs: Result[] = [];
for (const dir of dirs)
  for (const entry of readdirSync(dir)) {
    const copy = entry.endsWith('.json');
    const file = copy ? join(dir, entry) : join(dir, entry, 'results.json');
    if (!existsSync(file) || (copy && existsSync(join(dir, entry.slice(0, -5))))) continue;
    runs.push(JSON.parse(readFileSync(file, 'utf8')) as Result);
  }
const byK = runs.flatMap((r) => r.result.tests.map((t) => ({ router: r.router, k: t.k, bpc: t.bpc })));
const curves = runs.flatMap((r) => r.result.evals.map((e) => ({ router: r.router, step: e.step, bpc: e.bpc })));
const schema = 'https://vega.github.io/schema/vega-lite/v6.json';
const vsK = {
  $schema: schema,
  title: 'Test bits per character vs experts per token k (char-LM, 1,000 steps)',
  data: { values: byK },
  width: 360,
  height: 240,
  mark: { type: 'line', point: true },
  encoding: {
    x: { field: 'k', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'k (experts per token at test)' },
    y: { field: 'bpc', type: 'quantitative', scale: { zero: false }, title: 'test BPC' },
    color: { field: 'router', type: 'nominal', title: null },
  },
} as unknown as TopLevelSpec;
const curve = {
  $schema: schema,
  title: 'Validation BPC at k = 2 during training',
  data: { values: curves },
  width: 360,
  height: 240,
  mark: { type: 'line', point: true },
  encoding: {
    x: { field: 'step', type: 'quantitative', title: 'step' },
    y: { field: 'bpc', type: 'quantitative', scale: { zero: false }, title: 'validation BPC (k = 2)' },
    color: { field: 'router', type: 'nominal', title: null },
  },
} as unknown as TopLevelSpec;
console.log(await renderPlot(vsK, join(outDir, 'bpc-vs-k')));
console.log(await renderPlot(curve, join(outDir, 'validation')));
