#!/usr/bin/env node
// The README's DomainBed table from the runs of scripts/domainbed.sh: per dataset and held-out
// environment, the test accuracy (the held-out environment's in split, at the step chosen by
// training-domain validation) of ERM and HMOE, their validation accuracy, the chosen step and
// wall time; then each dataset's average over the environments run and HMOE − ERM.
//   node packages/adapters/scripts/domainbed-table.mjs [dir ...]   (default runs/domainbed/s0)
// A dir holds <run>/results.json (a run's --out) or <run>.json (the copies in packages/adapters/results/domainbed/).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push('runs/domainbed/s0');
const runs = [];
for (const dir of dirs)
  for (const entry of readdirSync(dir)) {
    const copy = entry.endsWith('.json');
    const file = copy ? join(dir, entry) : join(dir, entry, 'results.json');
    if (!existsSync(file) || (copy && existsSync(join(dir, entry.slice(0, -5))))) continue;
    const r = JSON.parse(readFileSync(file, 'utf8'));
    if (r.command === 'moe domainbed') runs.push(r);
  }
if (runs.length === 0) {
  console.error(`no DomainBed results.json under ${dirs.join(', ')}`);
  process.exit(1);
}
const pct = (x) => (100 * x).toFixed(2);
const cell = (r) => (r ? `${pct(r.result.testAcc)} (${pct(r.result.valAcc)}, step ${r.result.bestStep})` : '—');
const lines = [
  '| dataset | test environment | ERM: test (val, step) | HMOE: test (val, step) | HMOE − ERM | steps | training minutes (ERM / HMOE) |',
  '|---|---|---:|---:|---:|---:|---|',
];
const verdicts = [];
for (const dataset of [...new Set(runs.map((r) => r.dataset))].sort().reverse()) {
  const envs = [...new Set(runs.filter((r) => r.dataset === dataset).map((r) => r.result.testEnv))].sort(
    (a, b) => a - b,
  );
  const diffs = [];
  const avg = { erm: [], hmoe: [] };
  for (const env of envs) {
    const get = (alg) => runs.find((r) => r.dataset === dataset && r.result.testEnv === env && r.algorithm === alg);
    const erm = get('erm');
    const hmoe = get('hmoe');
    const d = erm && hmoe ? 100 * (hmoe.result.testAcc - erm.result.testAcc) : null;
    if (d !== null) {
      diffs.push(d);
      avg.erm.push(erm.result.testAcc);
      avg.hmoe.push(hmoe.result.testAcc);
    }
    const any = erm ?? hmoe;
    const steps = [...new Set([erm, hmoe].filter(Boolean).map((r) => r.result.steps))].join(' / ');
    const minutes = [erm, hmoe].map((r) => (r ? (r.seconds / 60).toFixed(1) : '—')).join(' / ');
    lines.push(
      `| ${dataset} | ${dataset === 'rotated-mnist' ? `${any.testEnvName}°` : any.testEnvName} | ${cell(erm)} | ${cell(hmoe)} | ${d === null ? '—' : (d >= 0 ? '+' : '') + d.toFixed(2)} | ${steps} | ${minutes} |`,
    );
  }
  if (diffs.length > 0) {
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const e = 100 * mean(avg.erm);
    const h = 100 * mean(avg.hmoe);
    lines.push(
      `| **${dataset}** | **average (${diffs.length})** | **${e.toFixed(2)}** | **${h.toFixed(2)}** | **${(h - e >= 0 ? '+' : '') + (h - e).toFixed(2)}** | | |`,
    );
    verdicts.push(
      `${dataset}: HMOE ${h.toFixed(2)} vs ERM ${e.toFixed(2)} over ${diffs.length} held-out environment(s): target HMOE ≥ ERM ${h >= e ? 'met' : `missed by ${(e - h).toFixed(2)}`}`,
    );
  }
}
console.log(lines.join('\n'));
if (verdicts.length > 0) console.log(`\n${verdicts.join('\n')}`);
