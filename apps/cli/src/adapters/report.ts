import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParamCounts } from '@hypernets/adapters';
import { writeFileAtomic } from '@hypernets/core/internal';
import type { TextSource } from '@hypernets/data';
import { lineChartSpec, renderPlot, type TopLevelSpec } from '@hypernets/plot';
import { configSection } from '../continual/report.js';
import type { AdaptersTrainOptions } from './options.js';

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
