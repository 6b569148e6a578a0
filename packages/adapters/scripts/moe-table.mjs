#!/usr/bin/env node
// The README's MoE language-model table from the runs of scripts/moe-lm.sh: test bits per
// character at each k per router (the variables of the best validation step at k = 2), router
// entropy, the best step, parameters and wall time.
//   node packages/adapters/scripts/moe-table.mjs [dir ...]   (default runs/moe-lm/s0)
// A dir holds <router>/results.json (a run's --out) or <router>.json (the copies in packages/adapters/results/moe-lm/).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push('runs/moe-lm/s0');
const order = ['dense', 'smoe', 'smoe-dropout', 'hyperrouter'];
const runs = [];
for (const dir of dirs)
  for (const entry of readdirSync(dir)) {
    const copy = entry.endsWith('.json');
    const file = copy ? join(dir, entry) : join(dir, entry, 'results.json');
    if (!existsSync(file) || (copy && existsSync(join(dir, entry.slice(0, -5))))) continue;
    runs.push(JSON.parse(readFileSync(file, 'utf8')));
  }
if (runs.length === 0) {
  console.error(`no results.json under ${dirs.join(', ')}`);
  process.exit(1);
}
runs.sort((a, b) => order.indexOf(a.router) - order.indexOf(b.router));
const ks = [...new Set(runs.flatMap((r) => r.result.tests.map((t) => t.k)))].sort((a, b) => a - b);
const n = (x) => x.toLocaleString('en-US');
const lines = [
  `| router | ${ks.map((k) => `k = ${k}`).join(' | ')} | router entropy (nats, k = 2) | best step (val BPC) | parameters: all / trainable / active per token | minutes |`,
  `|---|${ks.map(() => '---:').join('|')}|---:|---|---|---:|`,
];
for (const r of runs) {
  const by = new Map(r.result.tests.map((t) => [t.k, t.bpc]));
  const cells = ks.map((k) => (by.has(k) ? by.get(k).toFixed(3) : '—'));
  const p = r.result.params;
  lines.push(
    `| ${r.router} | ${cells.join(' | ')} | ${r.result.routerEntropy === null ? '—' : r.result.routerEntropy.toFixed(3)} | ${r.result.bestStep} (${r.result.valBpc.toFixed(3)}) | ${n(p.total)} / ${n(p.trainable)} / ${n(Math.round(p.activePerToken))} | ${(r.seconds / 60).toFixed(1)} |`,
  );
}
console.log(lines.join('\n'));
const c = runs[0].config;
console.log(
  `\n${c.steps} steps of ${c.batchSize} windows × ${c.seqLength} characters, d ${c.dModel}, ${c.layers} blocks, ${c.experts} experts of width ${c.expertHidden} (dense: one MLP ${c.experts * c.expertHidden} wide), k ${c.kStart ?? '—'} → ${c.kEnd ?? '—'}, lr ${c.lr} cosine, seed ${c.seed}; test on the first ${n(c.testSymbols)} test characters; backend ${runs[0].backend} (${runs[0].device})`,
);
