import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParamCounts } from '@hypernets/adapters';
import { writeFileAtomic } from '@hypernets/core/internal';
import type { TextSource } from '@hypernets/data';
import { lineChartSpec, renderPlot, type TopLevelSpec } from '@hypernets/plot';
import { configSection } from '../continual/report.js';
import type { AdaptersTrainOptions } from './options.js';
import { fewshotTable, type FewshotResults, type FewshotRun } from './fewshot.js';

export interface AdaptersTrainSummary {
  command: 'adapters train';
  method: string;
  tasks: string[];
  /** Test accuracy per task, with the variables of the best validation step. */
  acc: Record<string, number>;
  avg_acc: number;
  /** Validation accuracy per task at the best step. */
  val: Record<string, number>;
  best_step: number;
  steps: number;
  /** (shared + Σ each task's own + Σ heads) / tasks. */
  trainable_params_per_task: number;
  backbone_params: number;
  params: ParamCounts;
  seconds: number;
  backend: string;
  /** The device in words (wasm: whether its products ran on OpenBLAS). */
  device: string;
  /** The best-validation model (`adapters predict --checkpoint <out>` loads it). */
  model: string;
  /** Each task's data: kind, labels, examples per split, where the texts come from. */
  data: {
    name: string;
    kind: string;
    labels: string[];
    train: number;
    val: number;
    test: number;
    source: TextSource;
  }[];
  config: AdaptersTrainOptions & { evalEvery: number };
  /** Training loss of each step (the task sampled at that step). */
  curve: { step: number; task: string; loss: number }[];
  /** Average validation accuracy at each evaluation. */
  evals: { step: number; average: number }[];
  /** --zero-shot: a (family, domain) pair held out of training, classified with the family's head. */
  zero_shot?: {
    task: string;
    family: string;
    domain: string;
    domain_id: number;
    val_acc: number;
    test_acc: number;
    test: number;
  };
}

const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);
const share = (n: number, of: number) => `${((100 * n) / of).toFixed(3)}%`;

const METHOD_TITLES: Record<string, string> = {
  linear: 'linear probe',
  finetune: 'full fine-tuning',
  adapters: 'per-task adapters',
  hyperformer: 'HyperFormer',
  'hyperformer++': 'HyperFormer++',
  hyperx: 'Hyper-X',
  pha: 'PHA',
};

/** Test accuracy per task: a bar chart (vega-lite), the value on each bar. */
export function accuracySpec(title: string, bars: { task: string; acc: number }[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: { step: 56 },
    height: 300,
    data: { values: bars },
    encoding: {
      x: { field: 'task', type: 'nominal', sort: null, title: null, axis: { labelAngle: -30 } },
      y: {
        field: 'acc',
        type: 'quantitative',
        scale: { domain: [0, 1] },
        axis: { format: '%' },
        title: 'test accuracy',
      },
    },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8' } },
      {
        mark: { type: 'text', dy: -6, fontSize: 11 },
        encoding: { text: { field: 'acc', type: 'quantitative', format: '.1%' } },
      },
    ],
  };
}

/** results.json, accuracy.{svg,png}, curve.{svg,png}, summary.md (the JSON and markdown atomically). Returns the file names. */
export async function writeTrainReport(dir: string, s: AdaptersTrainSummary): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const results = join(dir, 'results.json');
  await writeFileAtomic(results, JSON.stringify(s, null, 2) + '\n');
  const name = METHOD_TITLES[s.method] ?? s.method;
  const accuracy = await renderPlot(
    accuracySpec(
      `${name}: test accuracy per task (average ${pct(s.avg_acc)})`,
      s.tasks.map((t) => ({ task: t, acc: s.acc[t]! })),
    ),
    join(dir, 'accuracy'),
  );
  const rows = [
    ...s.curve.map((p) => ({ x: p.step, y: p.loss, series: `loss: ${p.task}` })),
    ...s.evals.map((e) => ({ x: e.step, y: e.average, series: 'validation accuracy, average' })),
  ];
  const base = lineChartSpec({
    title: `${name}: training loss per step (by task sampled) and average validation accuracy`,
    rows,
    xTitle: 'step',
    yTitle: 'loss / accuracy',
    logY: false,
  }) as TopLevelSpec & { encoding: Record<string, unknown> };
  const curveSpec = {
    ...base,
    // a short run's lines are a few points: mark them; long names need a wider legend
    mark: { type: 'line', strokeWidth: 1.5, point: s.steps <= 100 },
    encoding: {
      ...base.encoding,
      color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 400 } },
    },
  } as TopLevelSpec;
  const curve = await renderPlot(curveSpec, join(dir, 'curve'));
  const p = s.params;
  const md = [
    `# ${name} on ${s.tasks.length} text task${s.tasks.length === 1 ? '' : 's'}`,
    '',
    `Average test accuracy **${pct(s.avg_acc)}** with the variables of the best average validation accuracy ` +
      `(step ${s.best_step} of ${s.steps}; validation every ${s.config.evalEvery} steps). Frozen backbone: the ` +
      `Universal Sentence Encoder lite, ${p.backbone.toLocaleString('en-US')} parameters.`,
    `${s.steps} steps of ${s.config.batchSize} examples (lr ${s.config.lr}, ≤ ${s.config.maxTokens} tokens, ` +
      `≤ ${s.config.maxExamples} examples per task), seed ${s.config.seed}, ${s.seconds.toFixed(1)} s on ${s.backend}, ${s.device}.`,
    '',
    '| task | val | test | trainable params (own + head) | % of backbone |',
    '|---|---:|---:|---:|---:|',
    ...s.tasks.map((t, i) => {
      const own = (p.perTask[i] ?? 0) + (p.heads[i] ?? 0);
      return `| ${t} | ${pct(s.val[t])} | ${pct(s.acc[t])} | ${own.toLocaleString('en-US')} | ${share(own, p.backbone)} |`;
    }),
    `| **average** | ${pct(mean(s.tasks.map((t) => s.val[t])))} | ${pct(s.avg_acc)} | | |`,
    ...(s.zero_shot
      ? [
          `| ${s.zero_shot.task} (zero-shot: family ${s.zero_shot.family}, domain ${s.zero_shot.domain}, never trained on) | ` +
            `${pct(s.zero_shot.val_acc)} | ${pct(s.zero_shot.test_acc)} | 0 | 0.000% |`,
        ]
      : []),
    '',
    `Trainable parameters per task, shared ones divided among the tasks: ` +
      `**${Math.round(p.trainablePerTask).toLocaleString('en-US')}** (${share(p.trainablePerTask, p.backbone)} of the ` +
      `backbone); shared ${p.shared.toLocaleString('en-US')}, the method without heads ` +
      `${Math.round(p.methodPerTask).toLocaleString('en-US')} per task (${share(p.methodPerTask, p.backbone)}).`,
    '',
    'Data (train / val / test examples):',
    '',
    ...s.data.map(
      (d) =>
        `- ${d.name} (${d.kind}; ${d.labels.join(', ')}): ${d.train} / ${d.val} / ${d.test}, from ` +
        `${d.source.package}@${d.source.version} (${d.source.license})`,
    ),
    '',
    '![test accuracy](accuracy.svg)',
    '![learning curve](curve.svg)',
    '',
    ...configSection(s.config),
  ].join('\n');
  const summary = join(dir, 'summary.md');
  await writeFileAtomic(summary, md);
  return [results, accuracy.svg, accuracy.png, curve.svg, curve.png, summary];
}

function mean(xs: (number | undefined)[]): number | undefined {
  if (xs.some((x) => x === undefined) || xs.length === 0) return undefined;
  return (xs as number[]).reduce((a, b) => a + b, 0) / xs.length;
}

// ---------------------------------------------------------------------------------------
// fewshot

/** results.json of `adapters fewshot`, atomically (after every finished run). */
export async function saveFewshotResults(dir: string, r: FewshotResults): Promise<string> {
  const file = join(dir, 'results.json');
  await writeFileAtomic(file, JSON.stringify(r, null, 2) + '\n');
  return file;
}

/** Test accuracy against the number of shots: each method's mean over the draws (a line) and every draw (points). */
export function fewshotSpec(title: string, runs: readonly FewshotRun[], shots: readonly number[]): TopLevelSpec {
  const encoding = (aggregate: boolean) => ({
    x: {
      field: 'shots',
      type: 'quantitative' as const,
      title: 'shots (labelled training examples, class-balanced)',
      scale: {
        type: 'log' as const,
        base: 2,
        domain: [Math.min(...shots) / 1.25, Math.max(...shots) * 1.25],
        nice: false,
      },
      axis: { values: [...shots], format: 'd' },
    },
    y: {
      field: 'acc',
      type: 'quantitative' as const,
      ...(aggregate ? { aggregate: 'mean' as const } : {}),
      scale: { domain: [0, 1] },
      axis: { format: '%' },
      title: 'test accuracy',
    },
    color: { field: 'method', type: 'nominal' as const, title: null, sort: null },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 480,
    height: 300,
    data: { values: runs.map((r) => ({ method: r.method, shots: r.shots, draw: r.draw, acc: r.acc })) },
    layer: [
      // every draw
      { mark: { type: 'point', opacity: 0.45, size: 30 }, encoding: encoding(false) },
      // the mean over the draws
      { mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 50 } }, encoding: encoding(true) },
    ],
  };
}

/** summary.md and accuracy-vs-shots.{svg,png} of a finished `adapters fewshot` (results.json is saved as it goes). */
export async function writeFewshotReport(dir: string, r: FewshotResults): Promise<string[]> {
  const c = r.config;
  const plot = await renderPlot(
    fewshotSpec(`few-shot transfer to ${c.task}: test accuracy vs shots`, r.runs, c.shots),
    join(dir, 'accuracy-vs-shots'),
  );
  const d = r.data;
  const methodNames = c.methods.map((m) => `${m} (${METHOD_TITLES[m] ?? m})`).join(', ');
  const md = [
    `# Few-shot transfer to ${c.task}`,
    '',
    `Held-out task **${c.task}**${d ? ` (${d.kind}; ${d.labels.join(', ')}; tested on its ${d.test} test examples)` : ''}. ` +
      `Source: the ${r.source.method} model in \`${r.source.dir}\`, trained on ${r.source.tasks.join(', ')} ` +
      `(≤ ${r.source.maxTokens} tokens).`,
    '',
    `Methods: ${methodNames}.` +
      (c.methods.includes('pha')
        ? " pha starts the new task's prototype from the source prototype its shots retrieve and trains only " +
          'that prototype and the head (the hypernetwork, the retriever and the backbone stay frozen).'
        : '') +
      (c.methods.some((m) => m !== 'pha') ? ' Every other method trains a fresh single-task model on the shots.' : ''),
    '',
    `Each cell: test accuracy in %, mean ± sample std over ${c.draws} draw${c.draws === 1 ? '' : 's'} of ` +
      `class-balanced shots (draw d drawn with seed ${c.seed * 1000} + d; the same shots for every method), ` +
      `${c.steps} steps, lr ${c.lr}, batch min(${c.batchSize}, shots), the variables after the last step tested. ` +
      '"trained params": the scalars each run trains' +
      (c.methods.includes('pha') ? '; "pha: retrieved": the source prototype most draws retrieved.' : '.'),
    '',
    fewshotTable(c.methods, c.shots, r.runs, c.draws, true),
    '',
    `${r.runs.length} runs, ${(r.seconds ?? 0).toFixed(1)} s of training in all` +
      (r.backend ? ` on ${r.backend}, ${r.device}.` : '.'),
    '',
    '![test accuracy vs shots](accuracy-vs-shots.svg)',
    '',
    ...configSection(c),
  ].join('\n');
  const summary = join(dir, 'summary.md');
  await writeFileAtomic(summary, md);
  return [plot.svg, plot.png, summary];
}
