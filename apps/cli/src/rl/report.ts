import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@hypernets/core/internal';
import { renderPlot, type TopLevelSpec } from '@hypernets/plot';
import type { ResolvedTrainOptions } from './options.js';

/** The `--json` line of `rl train` (TRAIN_JSON_KEYS), whichever the algorithm: summary.json starts with it. */
export interface RlTrainJson {
  env: string;
  algo: string;
  /** Env steps trained (PPO: iterations × batch, --steps rounded down to whole batches; HyperZero: the teachers'). */
  steps: number;
  /** The deterministic policy's mean return over `eval_episodes` episodes (HyperZero: zero-shot, held-out contexts). */
  mean_return: number;
  eval_episodes: number;
  /** Training seconds, over every invocation of a resumed run. */
  seconds: number;
  steps_per_second: number;
  backend: string;
  command: 'rl train';
}

/** summary.json of `rl train` (PPO, HyperPPO): the `--json` line's fields first, then the details. */
export interface RlTrainSummary extends RlTrainJson {
  /** The options, every default filled in. */
  config: ResolvedTrainOptions;
  iterations: number;
  /** The evaluation's returns and lengths, episode by episode (reset seeds seed + 10,000, + 10,001, …). */
  eval_returns: number[];
  eval_lengths: number[];
  /** Mean raw return of the last (up to) 100 training episodes; null if none ended. */
  train_return_last100: number | null;
  /** Every training episode that ended: [env step at its end, raw return, length]. */
  episodes: [number, number, number][];
  device: string;
  /** The command line as typed. */
  invocation: string;
  /** HyperPPO: every evaluated architecture with its generated weights' mean return (mean_return is the best one's). */
  archs?: { hidden: number[]; params: number; mean_return: number }[];
}

/** Training episodes plotted as points, at most (beyond, only the running mean). */
const MAX_POINTS = 2000;
/** Points of the running-mean line, at most. */
const MAX_LINE = 1000;
/** Episodes in the running mean. */
const WINDOW = 100;

/**
 * The learning curve: each training episode's raw return at the env step it ended (points, up to
 * 2,000 episodes), the mean of the last 100 episodes (line), and the final deterministic
 * evaluation's mean (dashed rule).
 */
export function curveSpec(s: RlTrainSummary): TopLevelSpec {
  const eps = s.episodes;
  const running: { step: number; value: number; series: string }[] = [];
  let sum = 0;
  const every = Math.max(1, Math.ceil(eps.length / MAX_LINE));
  eps.forEach(([step, ret], i) => {
    sum += ret;
    if (i >= WINDOW) sum -= eps[i - WINDOW]![1];
    if (i % every === 0 || i === eps.length - 1)
      running.push({ step, value: sum / Math.min(i + 1, WINDOW), series: `mean of the last ${WINDOW} episodes` });
  });
  const points =
    eps.length <= MAX_POINTS ? eps.map(([step, ret]) => ({ step, value: ret, series: 'training episode' })) : [];
  const evalRow = {
    step: s.steps,
    value: s.mean_return,
    series: `deterministic evaluation (${s.eval_episodes} episodes)`,
  };
  const x = { field: 'step', type: 'quantitative', title: 'env steps', axis: { format: '~s' } } as const;
  const y = { field: 'value', type: 'quantitative', title: 'episode return', scale: { zero: false } } as const;
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: {
      domain: ['training episode', `mean of the last ${WINDOW} episodes`, evalRow.series],
      range: ['#9ecae9', '#4c78a8', '#e45756'],
    },
    legend: { orient: 'bottom', labelLimit: 400 },
  } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${s.config.algo.toUpperCase()} on ${s.env}: return vs env steps`,
    width: 560,
    height: 320,
    layer: [
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 10, opacity: 0.5 },
        encoding: { x, y, color },
      },
      { data: { values: running }, mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, color } },
      {
        data: { values: [evalRow] },
        mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { y, color },
      },
    ],
  } as TopLevelSpec;
}

/** summary.json (atomically) and curve.{svg,png} into `dir`; returns the files written. */
export async function writeTrainReport(dir: string, s: RlTrainSummary): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const summary = join(dir, 'summary.json');
  await writeFileAtomic(summary, JSON.stringify(s, null, 2) + '\n');
  const curve = await renderPlot(curveSpec(s), join(dir, 'curve'));
  const files = [summary, curve.svg, curve.png];
  if (s.archs) {
    const pareto = await renderPlot(paretoSpec(s), join(dir, 'pareto'));
    files.push(pareto.svg, pareto.png);
  }
  return files;
}

/** HyperPPO: the return of every evaluated architecture with generated weights against its parameter count (log). */
export function paretoSpec(s: RlTrainSummary): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${s.env}: ${s.archs!.length} architectures with HyperPPO's generated weights`,
    data: { values: s.archs!.map((a) => ({ ...a, depth: `${a.hidden.length} hidden`, arch: a.hidden.join('-') })) },
    width: 420,
    height: 260,
    mark: { type: 'point', filled: true, opacity: 0.7 },
    encoding: {
      x: { field: 'params', type: 'quantitative', scale: { type: 'log' }, title: 'policy parameters (log)' },
      y: { field: 'mean_return', type: 'quantitative', title: 'mean return, no training' },
      color: { field: 'depth', type: 'nominal', title: null },
      tooltip: [{ field: 'arch' }, { field: 'params' }, { field: 'mean_return' }],
    },
  } as unknown as TopLevelSpec;
}

/** The result in words (stdout). */
export function trainResultText(s: RlTrainSummary): string {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(mean(s.eval_returns.map((r) => (r - s.mean_return) ** 2)));
  return [
    `${s.env} ${s.algo}: ${s.steps.toLocaleString('en-US')} env steps (${s.iterations} iterations) in ` +
      `${s.seconds.toFixed(1)} s, ${s.steps_per_second.toFixed(0)} steps/s`,
    `training return (last 100 episodes): ${s.train_return_last100 === null ? '-' : s.train_return_last100.toFixed(2)}`,
    s.archs
      ? `${s.archs.length} architectures with generated weights, ${s.eval_episodes} episode${s.eval_episodes === 1 ? '' : 's'} each: ` +
        `best mean return ${s.mean_return.toFixed(2)} ([${bestArch(s).hidden.join(', ')}], ${bestArch(s).params} parameters)`
      : `deterministic evaluation over ${s.eval_episodes} episode${s.eval_episodes === 1 ? '' : 's'}: ` +
        `mean return ${s.mean_return.toFixed(2)} ± ${sd.toFixed(2)}`,
  ].join('\n');
}

function bestArch(s: RlTrainSummary) {
  return s.archs!.reduce((a, b) => (b.mean_return > a.mean_return ? b : a));
}
