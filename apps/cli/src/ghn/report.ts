import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchEvaluation, GhnCurvePoint } from '@hypernets/graph';
import { lineChartSpec, renderPlot } from '@hypernets/plot';
import { configSection } from '../continual/report.js';
import type { GhnEvalOptions, GhnTrainOptions } from './options.js';

export interface TrainSummary {
  command: 'ghn train';
  steps: number;
  final_loss: number | null;
  final_accuracy: number | null;
  skipped: number;
  archs_seen: number;
  seconds: number;
  ms_per_step: number | null;
  backend: string;
  /** The device in words (wasm: whether its products ran on OpenBLAS). */
  device: string;
  /** The trained GHN (ppuda layout, loadable by `ghn predict` / `ghn eval`). */
  ghn: string;
  params: number;
  config: GhnTrainOptions;
  curve: GhnCurvePoint[];
}

export interface EvalSummary {
  command: 'ghn eval';
  ghn: string;
  split: string | null;
  mean_accuracy: number;
  mean_random_init: number;
  mean_fine_tuned: { steps: number; predicted: number; random: number } | null;
  seconds: number;
  backend: string;
  /** The device in words (wasm: whether its products ran on OpenBLAS). */
  device: string;
  archs: ArchEvaluation[];
  config: GhnEvalOptions;
}

const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(2)}%`);

/** results.json, learning curves (SVG + PNG), summary.md. Returns the file names. */
export async function writeTrainReport(dir: string, s: TrainSummary): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const results = join(dir, 'results.json');
  await writeFile(results, JSON.stringify(s, null, 2) + '\n');
  const rows = s.curve.flatMap((p) => [
    { x: p.step, y: p.loss, series: 'cross-entropy (mean over the m nets)' },
    { x: p.step, y: p.accuracy, series: 'training accuracy of predicted parameters' },
  ]);
  const name = { ghn2: 'GHN-2', ghn3: 'GHN-3', logah: 'LoGAH' }[s.config.ghnType ?? 'ghn2'];
  const plot = await renderPlot(
    lineChartSpec({
      title: `${name} meta-training on MNIST (hid ${s.config.hid}, m = ${s.config.archsPerStep})`,
      rows,
      xTitle: 'step',
      yTitle: 'loss / accuracy',
    }),
    join(dir, 'learning-curves'),
  );
  const md = [
    `# ${name} meta-training, MNIST`,
    '',
    `${s.steps} steps (${s.skipped} skipped for a non-finite loss) of ${s.config.archsPerStep} architectures ` +
      `and ${s.config.batchSize} images, ${s.archs_seen} distinct architectures; final loss ` +
      `${s.final_loss?.toFixed(4) ?? '-'}, training accuracy ${pct(s.final_accuracy)}.`,
    `${s.seconds.toFixed(1)} s on ${s.backend}, ${s.device} (${s.ms_per_step?.toFixed(0) ?? '-'} ms/step). GHN: ` +
      `${s.params.toLocaleString('en-US')} parameters, written to \`${s.ghn}\`.`,
    '',
    '![learning curves](learning-curves.svg)',
    '',
    ...configSection(s.config),
  ].join('\n');
  const summary = join(dir, 'summary.md');
  await writeFile(summary, md);
  return [results, plot.svg, plot.png, summary];
}

/** results.json and summary.md. Returns the file names. */
export async function writeEvalReport(dir: string, s: EvalSummary, table?: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const results = join(dir, 'results.json');
  await writeFile(results, JSON.stringify(s, null, 2) + '\n');
  const ft = s.mean_fine_tuned;
  const md = [
    `# GHN evaluation on MNIST: ${s.split ? `split ${s.split}` : 'model zoo'}`,
    '',
    `GHN \`${s.ghn}\`, ${s.archs.length} architectures, ${s.config.testSamples} test images (batch-norm nets ` +
      `with the statistics of each test batch of ${s.config.batchSize}, as ppuda's eval_ghn.py).`,
    `Mean test accuracy of the predicted parameters **${pct(s.mean_accuracy)}** (the nets' own random init: ${pct(s.mean_random_init)}).` +
      (ft
        ? ` After ${ft.steps} fine-tuning steps (${s.config.optimizer}): ${pct(ft.predicted)} from the ` +
          `predicted parameters, ${pct(ft.random)} from the random init (same batches).`
        : ''),
    '',
    '| architecture | params | predicted | random init |' + (ft ? ' fine-tuned from predicted | from random |' : ''),
    '|---|---:|---:|---:|' + (ft ? '---:|---:|' : ''),
    ...s.archs.map(
      (a) =>
        `| ${a.id} | ${a.numParams.toLocaleString('en-US')} | ${pct(a.accuracy)} | ${pct(a.randomInit)} |` +
        (a.fineTuned ? ` ${pct(a.fineTuned.predicted)} | ${pct(a.fineTuned.random)} |` : ''),
    ),
    '',
    ...(table ? ['```', table, '```', ''] : []),
    `${s.seconds.toFixed(1)} s on ${s.backend}, ${s.device}.`,
    '',
  ].join('\n');
  const summary = join(dir, 'summary.md');
  await writeFile(summary, md);
  return [results, summary];
}
