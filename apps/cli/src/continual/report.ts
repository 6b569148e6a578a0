import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccuracyMatrix, ContinualResult } from '@hypernets/continual';
import { heatmapSpec, lineChartSpec, renderPlot } from '@hypernets/plot';
import type { ContinualConfig } from './options.js';

const pct = (v: number | null) => (v === null ? '' : (100 * v).toFixed(2));

/** The closing 'Configuration:' block of a run's summary.md (the options it ran with, as JSON). */
export function configSection(config: unknown): string[] {
  return ['Configuration:', '', '```json', JSON.stringify(config, null, 2), '```', ''];
}

/** The accuracy matrix as a text table: rows "after task i", columns "task j", in %. */
export function accuracyTable(R: AccuracyMatrix): string {
  const T = R.length;
  const head = ['after \\ task', ...Array.from({ length: T }, (_, j) => String(j))];
  const rows = R.map((r, i) => [String(i), ...r.map(pct)]);
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((s, c) => s.padStart(w[c]!)).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export interface RunSummary {
  benchmark: string;
  scenario: string;
  method: string;
  avg_acc: number;
  acc_matrix: AccuracyMatrix;
  seconds: number;
  backend: string;
  /** The device in words (wasm: whether its products ran on OpenBLAS): runs on two paths differ in rounding. */
  device: string;
  backward_transfer: number;
  forgetting: number;
  task_seconds: number[];
  task_inference_matrix: AccuracyMatrix | null;
  params: { method: number; target: number };
  config: ContinualConfig;
}

export function summaryOf(
  cfg: ContinualConfig,
  r: ContinualResult,
  backend: { backend: string; device: string },
  params: RunSummary['params'],
): RunSummary {
  return {
    benchmark: cfg.benchmark,
    scenario: cfg.scenario,
    method: cfg.method,
    avg_acc: r.avgAcc,
    acc_matrix: r.accMatrix,
    seconds: r.seconds,
    backend: backend.backend,
    device: backend.device,
    backward_transfer: r.backwardTransfer,
    forgetting: r.forgetting,
    task_seconds: r.taskSeconds,
    task_inference_matrix: r.taskInferenceMatrix,
    params,
    config: cfg,
  };
}

/** results.json, accuracy heatmap and learning curves (SVG + PNG), summary.md. Returns file names. */
export async function writeReport(dir: string, s: RunSummary, r: ContinualResult): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const results = join(dir, 'results.json');
  await writeFile(results, JSON.stringify({ ...s, curve: r.curve }, null, 2) + '\n');
  files.push(results);
  const cells = s.acc_matrix.flatMap((row, i) => row.map((value, j) => ({ row: i, col: j, value })));
  const title = `${s.benchmark} ${s.scenario.toUpperCase()} ${s.method}: accuracy (avg ${pct(s.avg_acc)}%)`;
  const heat = await renderPlot(
    heatmapSpec({ title, cells, rowTitle: 'after training task', colTitle: 'test accuracy on task' }),
    join(dir, 'accuracy-matrix'),
  );
  const curveRows = r.curve.flatMap((p) => [
    { x: p.task * s.config.iterations + p.step, y: p.loss, series: 'task loss' },
    ...(p.reg !== null && p.reg > 0
      ? [{ x: p.task * s.config.iterations + p.step, y: p.reg, series: 'β · regulariser' }]
      : []),
  ]);
  const curves = await renderPlot(
    lineChartSpec({
      title: `${s.benchmark} ${s.scenario.toUpperCase()} ${s.method}: training loss (tasks back to back)`,
      rows: curveRows,
      xTitle: 'step (all tasks)',
      yTitle: 'loss (log scale)',
    }),
    join(dir, 'learning-curves'),
  );
  files.push(heat.svg, heat.png, curves.svg, curves.png);
  const md = [
    `# ${s.benchmark}, ${s.scenario.toUpperCase()}, ${s.method}`,
    '',
    `Average final accuracy **${pct(s.avg_acc)}%**, backward transfer ${pct(s.backward_transfer)} points, forgetting ${pct(s.forgetting)} points.`,
    `${s.config.tasks} tasks × ${s.config.iterations} iterations, batch ${s.config.batchSize}, seed ` +
      `${s.config.seed}, backend ${s.backend} (${s.device}), ${s.seconds.toFixed(1)} s`,
    `(per task: ${s.task_seconds.map((t) => t.toFixed(1)).join(', ')} s). Trainable parameters: ` +
      `${s.params.method.toLocaleString('en-US')} (target network: ${s.params.target.toLocaleString('en-US')}).`,
    '',
    'Accuracy matrix (%, row i = after training task i, column j = task j):',
    '',
    '```',
    accuracyTable(s.acc_matrix),
    '```',
    ...(s.task_inference_matrix
      ? ['', 'Task-inference accuracy of HNET+ENT (%):', '', '```', accuracyTable(s.task_inference_matrix), '```']
      : []),
    '',
    '![accuracy matrix](accuracy-matrix.svg)',
    '![learning curves](learning-curves.svg)',
    '',
    ...configSection(s.config),
  ].join('\n');
  const summary = join(dir, 'summary.md');
  await writeFile(summary, md);
  files.push(summary);
  return files;
}
