// The README's MuJoCo results from the runs of scripts/mujoco-run.ts: a markdown table (PPO per
// seed and mean; HyperPPO's best generated architecture against 90% of PPO's mean, the smallest
// architecture reaching 80%), learning curves, and the HyperPPO Pareto plot (return vs parameter
// count of every evaluated architecture, PPO 64-64's mean as a line), as SVG and PNG.
//   npx tsx --conditions=@hypernets/source scripts/mujoco-report.ts [runs dir] [out dir]
//   (defaults ../../runs/rl and results/mujoco)
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPlot, type TopLevelSpec } from '@hypernets/plot';

interface Result {
  env: string;
  algo: 'ppo' | 'hyperppo';
  seed: number;
  steps: number;
  mean_return: number;
  seconds: number;
  eval_seconds?: number;
  steps_per_second: number;
  best_hidden?: number[];
  archs?: { hidden: number[]; params: number; mean_return: number }[];
  curve: [number, number][];
}

const [runsDir = '../../runs/rl', outDir = 'results/mujoco'] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const runs: Result[] = readdirSync(runsDir)
  .map((d) => join(runsDir, d, 'result.json'))
  .filter((f) => existsSync(f))
  .map((f) => JSON.parse(readFileSync(f, 'utf8')) as Result);
const envs = [...new Set(runs.map((r) => r.env))].sort();
/** The issue's PPO targets: CartPole 500 within 100k steps; HalfCheetah and Hopper 1,500 at 1M. */
const TARGETS: Record<string, number> = { 'CartPole-v1': 500, 'HalfCheetah-v5': 1500, 'Hopper-v5': 1500 };
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: number[]) =>
  v.length < 2 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1));
const f0 = (x: number) => x.toFixed(0);
const targetText = (env: string, v: number) => {
  const t = TARGETS[env];
  if (t === undefined) return '—';
  return `≥ ${t.toLocaleString('en-US')}: ${v >= t ? 'met' : `missed by ${f0(t - v)}`}`;
};
const lines: string[] = [];
lines.push('| env | algorithm | seeds | steps | return (deterministic) | target | wall time per run | env steps/s |');
lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
const summary: Record<string, unknown>[] = [];
for (const env of envs) {
  const ppo = runs.filter((r) => r.env === env && r.algo === 'ppo').sort((a, b) => a.seed - b.seed);
  const hyper = runs.filter((r) => r.env === env && r.algo === 'hyperppo').sort((a, b) => a.seed - b.seed);
  const ppoMean = ppo.length ? mean(ppo.map((r) => r.mean_return)) : null;
  if (ppo.length) {
    const rets = ppo.map((r) => r.mean_return);
    lines.push(
      `| ${env} | PPO (64-64) | ${ppo.map((r) => r.seed).join(', ')} | ${ppo[0]!.steps.toLocaleString('en-US')} | ` +
        `${f0(ppoMean!)} ± ${f0(sd(rets))} (${rets.map(f0).join(' / ')}) | ${targetText(env, ppoMean!)} | ` +
        `${f0(mean(ppo.map((r) => r.seconds)))} s | ${f0(mean(ppo.map((r) => r.steps_per_second)))} |`,
    );
    summary.push({
      env,
      algo: 'ppo',
      seeds: ppo.map((r) => r.seed),
      returns: rets,
      mean: ppoMean,
      steps: ppo[0]!.steps,
    });
  }
  for (const h of hyper) {
    const archs = h.archs ?? [];
    const best = archs.reduce((a, b) => (b.mean_return > a.mean_return ? b : a), archs[0]!);
    const target = ppoMean === null ? null : 0.9 * ppoMean;
    const eighty =
      ppoMean === null ? [] : archs.filter((a) => a.mean_return >= 0.8 * ppoMean).sort((a, b) => a.params - b.params);
    const smallest = eighty[0];
    lines.push(
      `| ${env} | HyperPPO (best of ${archs.length} generated) | ${h.seed} | ${h.steps.toLocaleString('en-US')} | ` +
        `${f0(best.mean_return)} ([${best.hidden.join(', ')}], ${best.params.toLocaleString('en-US')} params) | ` +
        (target === null
          ? 'no PPO run |'
          : `≥ 90% of PPO = ${f0(target)}: ${best.mean_return >= target ? 'met' : `missed by ${f0(target - best.mean_return)}`}; ` +
            `smallest ≥ 80% (${f0(0.8 * ppoMean!)}): ${smallest ? `[${smallest.hidden.join(', ')}], ${smallest.params.toLocaleString('en-US')} params, ${f0(smallest.mean_return)}` : 'none'} |`) +
        ` ${f0(h.seconds)} s + ${f0(h.eval_seconds ?? 0)} s evaluation | ${f0(h.steps_per_second)} |`,
    );
    summary.push({
      env,
      algo: 'hyperppo',
      seed: h.seed,
      steps: h.steps,
      best,
      smallest80: smallest ?? null,
      archs: archs.length,
      above80: eighty.length,
      above90: target === null ? null : archs.filter((a) => a.mean_return >= target).length,
    });
  }
}
writeFileSync(join(outDir, 'table.md'), lines.join('\n') + '\n');
writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 1) + '\n');
console.log(lines.join('\n'));

const schema = 'https://vega.github.io/schema/vega-lite/v6.json';
for (const env of envs) {
  const slug = env.toLowerCase().replace(/-v\d+$/, '');
  const curves = runs
    .filter((r) => r.env === env)
    .flatMap((r) => {
      // a moving mean over 20 episodes keeps the chart readable
      const pts: { step: number; ret: number; run: string }[] = [];
      const w: number[] = [];
      r.curve.forEach(([step, ret], i) => {
        w.push(ret);
        if (w.length > 20) w.shift();
        if (i % 5 === 0)
          pts.push({
            step,
            ret: mean(w),
            run: `${r.algo === 'ppo' ? 'PPO 64-64' : 'HyperPPO (sampled archs)'} s${r.seed}`,
          });
      });
      return pts;
    });
  if (curves.length)
    await renderPlot(
      {
        $schema: schema,
        title: `${env}: training return (mean of the last 20 episodes)`,
        data: { values: curves },
        width: 420,
        height: 240,
        mark: { type: 'line' },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'env steps' },
          y: { field: 'ret', type: 'quantitative', title: 'episode return' },
          color: { field: 'run', type: 'nominal', title: null },
        },
      } as unknown as TopLevelSpec,
      join(outDir, `curves-${slug}`),
    );
  const hyper = runs.find((r) => r.env === env && r.algo === 'hyperppo');
  const ppo = runs.filter((r) => r.env === env && r.algo === 'ppo');
  if (hyper?.archs) {
    const layers: unknown[] = [
      {
        data: {
          values: hyper.archs.map((a) => ({ ...a, depth: `${a.hidden.length} hidden`, arch: a.hidden.join('-') })),
        },
        mark: { type: 'point', filled: true, opacity: 0.7 },
        encoding: {
          x: { field: 'params', type: 'quantitative', scale: { type: 'log' }, title: 'policy parameters (log)' },
          y: { field: 'mean_return', type: 'quantitative', title: 'return with generated weights' },
          color: { field: 'depth', type: 'nominal', title: null },
          tooltip: [{ field: 'arch' }, { field: 'params' }, { field: 'mean_return' }],
        },
      },
    ];
    if (ppo.length)
      layers.push({
        data: { values: [{ y: mean(ppo.map((r) => r.mean_return)), label: 'PPO 64-64 (trained)' }] },
        mark: { type: 'rule', strokeDash: [4, 4], color: 'black' },
        encoding: { y: { field: 'y', type: 'quantitative' } },
      });
    await renderPlot(
      {
        $schema: schema,
        title: `${env}: HyperPPO, ${hyper.archs.length} architectures with generated weights (dashed: PPO 64-64)`,
        width: 420,
        height: 260,
        layer: layers,
      } as unknown as TopLevelSpec,
      join(outDir, `pareto-${slug}`),
    );
  }
}
