#!/usr/bin/env node
// The README's benchmark table from the runs of scripts/benchmark.sh: methods × tasks (test
// accuracy, %, at the best validation step), the average, trainable parameters per task (heads
// included, and the method's own without heads) as a share of the backbone, and the wall time.
//   node packages/adapters/scripts/table.mjs [runs/adapters-bench/s0 ...]   (several dirs: mean ± sd over seeds)
// A dir holds <run>/results.json (a run's --out) or <run>.json (the copies in packages/adapters/results/).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push('runs/adapters-bench/s0');
const byName = new Map();
for (const dir of dirs)
  for (const entry of readdirSync(dir)) {
    const copy = entry.endsWith('.json');
    const name = copy ? entry.slice(0, -5) : entry;
    const file = copy ? join(dir, entry) : join(dir, entry, 'results.json');
    if (!existsSync(file)) continue;
    if (copy && existsSync(join(dir, name))) continue; // a run's --json line next to its folder
    const r = JSON.parse(readFileSync(file, 'utf8'));
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name).push(r);
  }
if (byName.size === 0) {
  console.error(`no results.json under ${dirs.join(', ')}`);
  process.exit(1);
}
const order = [
  'linear',
  'linear-lr1e-2',
  'finetune',
  'adapters',
  'hyperformer',
  'hyperformer++',
  'hyperformer++-rescale',
  'hyperformer++-p4',
];
const names = [...byName.keys()].sort(
  (a, b) => ((order.indexOf(a) + 99) % 99) - ((order.indexOf(b) + 99) % 99) || a.localeCompare(b),
);
const stat = (xs) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length === 1) return (100 * m).toFixed(2);
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
  return `${(100 * m).toFixed(2)} ± ${(100 * sd).toFixed(2)}`;
};
// One table per task set (the five-task benchmark first; PHA's source without spam, Hyper-X's grid
// with its zero-shot column, … after it).
const groups = new Map();
for (const name of names) {
  const key = byName.get(name)[0].tasks.join(',');
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(name);
}
const blocks = [];
for (const group of groups.values()) {
  const tasks = byName.get(group[0])[0].tasks;
  const zs = group.flatMap((n) => byName.get(n).flatMap((r) => (r.zero_shot ? [r.zero_shot.task] : [])));
  const zsHead = zs.length ? ` ${zs[0]} (zero-shot) |` : '';
  const lines = [
    `| run | seeds | ${tasks.join(' | ')} | average |${zsHead} params/task (% of backbone) | method's own/task | minutes |`,
    `|---|---|${tasks.map(() => '---|').join('')}---|${zs.length ? '---|' : ''}---|---|---|`,
  ];
  for (const name of group) {
    const rs = byName.get(name);
    const p = rs[0].params;
    const zsCell = zs.length ? ` ${rs[0].zero_shot ? `**${stat(rs.map((r) => r.zero_shot.test_acc))}**` : '-'} |` : '';
    lines.push(
      `| ${name} | ${rs.length} | ${tasks.map((t) => stat(rs.map((r) => r.acc[t]))).join(' | ')} | **${stat(rs.map((r) => r.avg_acc))}** |${zsCell} ` +
        `${Math.round(p.trainablePerTask).toLocaleString('en-US')} (${((100 * p.trainablePerTask) / p.backbone).toFixed(3)}%) | ` +
        `${Math.round(p.methodPerTask).toLocaleString('en-US')} (${((100 * p.methodPerTask) / p.backbone).toFixed(3)}%) | ` +
        `${(rs.reduce((a, r) => a + r.seconds, 0) / rs.length / 60).toFixed(1)} |`,
    );
  }
  blocks.push(lines.join('\n'));
}
console.log(blocks.join('\n\n'));
console.log(
  `\nMean ± sample standard deviation over seeds where there are several; ${r0Desc(byName.get(names[0])[0])}`,
);
function r0Desc(r) {
  const c = r.config;
  return `${c.steps} steps, batch ${c.batchSize}, lr ${c.lr}, ≤ ${c.maxTokens} tokens, ≤ ${c.maxExamples} examples per task, backend ${r.backend} (${r.device})`;
}
