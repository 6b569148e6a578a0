import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DgTrainResult } from '@hypernets/adapters';
import { writeFileAtomic } from '@hypernets/core/internal';
import { renderPlot, type TopLevelSpec } from '@hypernets/plot';
import { configSection } from '../continual/report.js';
import { DG_ENVIRONMENTS, type DgDataset, type ResolvedDgOptions } from './domainbed-options.js';

/** results.json of `moe domainbed`. */
export interface MoeDgSummary {
  command: 'moe domainbed';
  dataset: DgDataset;
  algorithm: string;
  /** The options, every default filled in, --test-env as its index (and name). */
  config: ResolvedDgOptions;
  /** The environments' names in DomainBed's order (`result.testEnv` indexes them). */
  environments: string[];
  testEnvName: string;
  /** The model as built: its input, classes, parameters, and HMOE's settings (null for ERM). */
  model: {
    algorithm: string;
    inputShape: number[];
    numClasses: number;
    parameters: number;
    hmoe: {
      experts: number;
      embeddingDim: number;
      temperature: number;
      hyperHidden: number;
      expertHidden: number;
      sampleEntropy: number;
      balance: number;
    } | null;
  };
  /** The environments as trained on: images (after --max-per-env), in/out split sizes, the split seeds; the construction seed. */
  data: {
    seed: number;
    environments: { name: string; images: number; in: number; out: number; holdoutSeed: number }[];
  };
  /** DgTrainer's result: test accuracy (in split) and validation at the best step, curves, evaluations, gate usage. */
  result: DgTrainResult;
  /** Training seconds, over every invocation of a resumed run. */
  seconds: number;
  backend: string;
  /** The device in words (wasm: whether its products ran on OpenBLAS). */
  device: string;
  /** The command line as typed. */
  invocation: string;
}

export const DATASET_TITLES: Record<DgDataset, string> = {
  'rotated-mnist': 'RotatedMNIST',
  'colored-mnist': 'ColoredMNIST',
};
export const ALGORITHM_TITLES: Record<string, string> = { erm: 'ERM', hmoe: 'HMOE' };

/**
 * DomainBed's published ERM test accuracy (%) per test environment and their average
 * (Gulrajani & Lopez-Paz 2021, "In Search of Lost Domain Generalization", the full results with
 * training-domain validation; 5,001 steps of 64 images per training environment).
 */
export const DOMAINBED_ERM: Record<DgDataset, { envs: readonly number[]; avg: number }> = {
  'rotated-mnist': { envs: [95.9, 98.9, 98.8, 98.9, 98.9, 96.4], avg: 98.0 },
  'colored-mnist': { envs: [71.7, 72.9, 10.0], avg: 51.5 },
};

/** An environment as people read it: RotatedMNIST's by its angle (15°), ColoredMNIST's by name (+90%). */
export const envLabel = (dataset: DgDataset, name: string): string => (dataset === 'rotated-mnist' ? `${name}°` : name);

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const count = (x: number) => Math.round(x).toLocaleString('en-US');

/** One environment at the best step: a training one's out-split (validation) accuracy, the test one's in-split accuracy. */
export interface AccuracyRow {
  env: number;
  name: string;
  label: string;
  role: 'training' | 'test';
  split: 'out' | 'in';
  images: number;
  /** null where the best step's evaluation is not in the record. */
  acc: number | null;
}

export function accuracyRows(s: MoeDgSummary): AccuracyRow[] {
  const r = s.result;
  const best = r.evals.find((e) => e.step === r.bestStep);
  let j = 0;
  return s.environments.map((name, env) => {
    const test = env === r.testEnv;
    const e = s.data.environments[env]!;
    const acc = test ? r.testAcc : (best?.perEnv[j++] ?? null);
    return {
      env,
      name,
      label: envLabel(s.dataset, name),
      role: test ? 'test' : 'training',
      split: test ? 'in' : 'out',
      images: test ? e.in : e.out,
      acc,
    };
  });
}

/** environment | role | split | accuracy, as text (stdout). */
export function dgResultTable(rows: readonly AccuracyRow[]): string {
  const head = ['environment', 'role', 'split', 'images', 'accuracy'];
  const cells = rows.map((x) => [
    x.label,
    x.role,
    x.split === 'out' ? 'out (validation)' : 'in',
    count(x.images),
    x.acc === null ? '-' : pct(x.acc),
  ]);
  const w = head.map((h, c) => Math.max(h.length, ...cells.map((x) => x[c]!.length)));
  const line = (xs: string[]) =>
    xs.map((x, c) => (c === 0 || c === 1 || c === 2 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join('  ');
  return [line(head), ...cells.map(line)].join('\n');
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Training loss at each step (top) and validation accuracy at each evaluation (bottom: the mean and each training environment's out split). */
export function curveSpec(s: MoeDgSummary): TopLevelSpec {
  const r = s.result;
  const train = s.environments.map((name, i) => ({ name, i })).filter((e) => e.i !== r.testEnv);
  const mean = 'mean (training-domain validation)';
  const series = [mean, ...train.map((e) => `${envLabel(s.dataset, e.name)} (out split)`)];
  const acc = r.evals.flatMap((e) => [
    { step: e.step, acc: e.valAcc, series: mean },
    ...e.perEnv.map((a, j) => ({ step: e.step, acc: a, series: series[j + 1]! })),
  ]);
  const x = { field: 'step', type: 'quantitative', title: 'step', axis: { format: 'd', tickMinStep: 1 } } as const;
  return {
    $schema: SCHEMA,
    title: `${ALGORITHM_TITLES[s.algorithm] ?? s.algorithm} on ${DATASET_TITLES[s.dataset]}, test environment ${envLabel(s.dataset, s.testEnvName)}`,
    // one step axis for both: the loss is logged from step 1, validation from the first --eval-every
    resolve: { scale: { x: 'shared' } },
    vconcat: [
      {
        width: 520,
        height: 200,
        data: { values: r.curve.map((p) => ({ step: p.step, loss: p.loss })) },
        // a short run's lines are a few points: mark them
        mark: { type: 'line', strokeWidth: 1.5, point: r.steps <= 100, color: '#4c78a8' },
        encoding: {
          x,
          y: { field: 'loss', type: 'quantitative', scale: { zero: false }, title: 'training loss' },
        },
      },
      {
        width: 520,
        height: 200,
        data: { values: acc },
        mark: { type: 'line', strokeWidth: 1.5, point: true },
        encoding: {
          x,
          y: { field: 'acc', type: 'quantitative', title: 'validation accuracy', axis: { format: '.0%' } },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            legend: { labelLimit: 400 },
            scale: {
              domain: series,
              range: ['#222222', '#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2'],
            },
          },
          strokeDash: {
            condition: { test: `datum.series === '${mean}'`, value: [1, 0] },
            value: [4, 3],
          },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Accuracy per environment at the best step (training environments: out split; the test environment: in split), the value on each bar. */
export function accuracySpec(s: MoeDgSummary): TopLevelSpec {
  const rows = accuracyRows(s)
    .filter((x) => x.acc !== null)
    .map((x) => ({
      label: x.label,
      acc: x.acc,
      what: x.role === 'test' ? 'test environment (in split)' : 'training environment (out split)',
    }));
  return {
    $schema: SCHEMA,
    title: `${ALGORITHM_TITLES[s.algorithm] ?? s.algorithm} on ${DATASET_TITLES[s.dataset]}: accuracy at step ${s.result.bestStep} (best training-domain validation)`,
    width: { step: 60 },
    height: 260,
    data: { values: rows },
    encoding: {
      x: { field: 'label', type: 'nominal', sort: null, title: 'environment', axis: { labelAngle: 0 } },
      y: { field: 'acc', type: 'quantitative', scale: { domain: [0, 1] }, title: 'accuracy', axis: { format: '.0%' } },
    },
    layer: [
      {
        mark: 'bar',
        encoding: {
          color: {
            field: 'what',
            type: 'nominal',
            title: null,
            scale: {
              domain: ['training environment (out split)', 'test environment (in split)'],
              range: ['#4c78a8', '#f58518'],
            },
            legend: { labelLimit: 400 },
          },
        },
      },
      {
        mark: { type: 'text', dy: -6, fontSize: 11 },
        encoding: { text: { field: 'acc', type: 'quantitative', format: '.1%' } },
      },
    ],
  } as TopLevelSpec;
}

/** HMOE's mean gate weight per expert on each environment (training: out split; test: in split), as a heatmap. */
export function usageSpec(s: MoeDgSummary, usage: readonly (readonly number[])[]): TopLevelSpec {
  const test = s.result.testEnv;
  const order = s.environments.map((n, i) => `${envLabel(s.dataset, n)}${i === test ? ' (test)' : ''}`);
  const cells = usage.flatMap((row, i) => row.map((weight, expert) => ({ env: order[i]!, expert, weight })));
  const experts = usage[0]?.length ?? 0;
  return {
    $schema: SCHEMA,
    title: `HMOE on ${DATASET_TITLES[s.dataset]}: mean gate weight per expert (uniform ${(100 / Math.max(1, experts)).toFixed(1)}%)`,
    data: { values: cells },
    encoding: {
      x: { field: 'expert', type: 'ordinal', title: 'expert' },
      y: { field: 'env', type: 'ordinal', sort: order, title: 'environment' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: {
            field: 'weight',
            type: 'quantitative',
            scale: { scheme: 'viridis', domain: [0, 1] },
            legend: { format: '.0%' },
            title: 'gate',
          },
        },
      },
      ...(experts <= 32
        ? [
            {
              mark: { type: 'text' as const, fontSize: experts <= 16 ? 11 : 8 },
              encoding: {
                text: { field: 'weight', type: 'quantitative' as const, format: '.1%' },
                color: { condition: { test: 'datum.weight < 0.6', value: 'white' }, value: 'black' },
              },
            },
          ]
        : []),
    ],
    config: { axis: { labelAngle: 0 }, view: { step: experts <= 16 ? 44 : 20 } },
  } as TopLevelSpec;
}

/**
 * results.json, curve.{svg,png}, accuracy.{svg,png}, usage.{svg,png} (HMOE) and summary.md
 * into `dir` (the JSON and markdown atomically). Returns the files written.
 */
export async function writeDgReport(dir: string, s: MoeDgSummary): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const results = join(dir, 'results.json');
  await writeFileAtomic(results, JSON.stringify(s, null, 2) + '\n');
  const files = [results];
  const curve = await renderPlot(curveSpec(s), join(dir, 'curve'));
  files.push(curve.svg, curve.png);
  const accuracy = await renderPlot(accuracySpec(s), join(dir, 'accuracy'));
  files.push(accuracy.svg, accuracy.png);
  const usage = s.result.gateUsage;
  if (usage) {
    const u = await renderPlot(usageSpec(s, usage), join(dir, 'usage'));
    files.push(u.svg, u.png);
  }

  const r = s.result;
  const c = s.config;
  const algo = ALGORITHM_TITLES[s.algorithm] ?? s.algorithm;
  const dataset = DATASET_TITLES[s.dataset];
  const label = (name: string) => envLabel(s.dataset, name);
  const testLabel = label(s.testEnvName);
  const rows = accuracyRows(s);
  const trainLabels = rows.filter((x) => x.role === 'training').map((x) => x.label);
  const testImages = s.data.environments[r.testEnv]!.in;
  const published = DOMAINBED_ERM[s.dataset];
  const names = DG_ENVIRONMENTS[s.dataset];
  const h = s.model.hmoe;
  const capped = c.maxPerEnv !== null && s.data.environments.some((e) => e.images === c.maxPerEnv);
  const md = [
    `# ${algo} on ${dataset}: test environment ${testLabel}`,
    '',
    `Leave-one-environment-out (DomainBed's protocol): trained on ${trainLabels.join(', ')}, tested on ` +
      `${testLabel}. Model selection by training-domain validation: every ${c.evalEvery} steps (and at the ` +
      "end) the mean accuracy over the training environments' out splits; the variables of the best step are " +
      "tested on the test environment's in split (DomainBed's IIDAccuracySelectionMethod).",
    '',
    `Test accuracy on ${testLabel} (its in split, ${count(testImages)} images): **${pct(r.testAcc)}**, at step ` +
      `**${r.bestStep}** of ${r.steps}, where the training-domain validation accuracy was **${pct(r.valAcc)}**.`,
    '',
    `| environment | role | split | images | accuracy at step ${r.bestStep} |`,
    '|---|---|---|---:|---:|',
    ...rows.map((x) => {
      const test = x.role === 'test';
      const acc = x.acc === null ? '-' : pct(x.acc);
      return (
        `| ${test ? `**${x.label}**` : x.label} | ${test ? '**test**' : 'training'} | ` +
        `${test ? 'in' : 'out (validation)'} | ${count(x.images)} | ${test ? `**${acc}**` : acc} |`
      );
    }),
    '',
    ...(h && r.gateUsage
      ? [
          `Mean gate weight per expert at step ${r.bestStep} (training environments: out split; the test ` +
            `environment: in split; uniform ${(100 / h.experts).toFixed(1)}%):`,
          '',
          `| environment | ${Array.from({ length: h.experts }, (_, e) => `expert ${e}`).join(' | ')} |`,
          `|---|${'---:|'.repeat(h.experts)}`,
          ...r.gateUsage.map(
            (row, i) =>
              `| ${label(s.environments[i]!)}${i === r.testEnv ? ' (test)' : ''} | ${row.map((v) => pct(v)).join(' | ')} |`,
          ),
          '',
        ]
      : []),
    h
      ? `Model: HMOE (\`@hypernets/adapters\` createHmoe, reconstructed from the paper's abstract): DomainBed's MNIST ` +
        `CNN featurizer, ${h.experts} expert classifiers (128 → ${h.expertHidden} → ${s.model.numClasses}) whose ` +
        `weights one hypernetwork (hidden ${h.hyperHidden}) generates from ${h.embeddingDim}-dimensional expert ` +
        `embeddings, a distance gate in that space (temperature ${h.temperature}), per-sample gate entropy weight ` +
        `${h.sampleEntropy}, balance weight ${h.balance}; ${count(s.model.parameters)} parameters.`
      : `Model: ERM (\`@hypernets/adapters\` createErm): DomainBed's MNIST CNN and a linear classifier, ` +
        `${count(s.model.parameters)} parameters.`,
    '',
    `Training: ${r.steps} steps, each ${c.batchSize} images drawn with replacement from the in split of every ` +
      `training environment (${trainLabels.length} × ${c.batchSize} per step), Adam at lr ${c.lr}, weight decay ` +
      `${c.weightDecay}, seed ${c.seed}; ${s.seconds.toFixed(1)} s on ${s.backend}, ${s.device}.`,
    '',
    `Data: \`@hypernets/data\` loadDomainBed('${s.dataset}', { seed: ${s.data.seed} }): MNIST's 70,000 images ` +
      "shuffled and dealt to the environments as DomainBed does, with our seeded Rng (not torch's numbers: other " +
      `images per environment than DomainBed's for the same seed)` +
      (capped ? `; only the first ${count(c.maxPerEnv!)} images of each environment (--max-per-env)` : '') +
      `. Each environment i is split by holdoutSplit(count, ${c.holdout}, seed × 1000 + i) ` +
      `(seeds ${s.data.environments.map((e) => e.holdoutSeed).join(', ')}; DomainBed seeds it with ` +
      'seed_hash(trial_seed, i)): the first part of a seeded permutation is the out split.',
    '',
    `For context, DomainBed's published ERM test accuracy (%) on ${dataset} with each environment as the test ` +
      'one (Gulrajani & Lopez-Paz 2021: training-domain validation, 5,001 steps of 64 images per training ' +
      `environment, the mean over its trials). This run trained ${r.steps} step${r.steps === 1 ? '' : 's'} of ` +
      `${c.batchSize} images per environment` +
      (r.steps < 5001 ? ', fewer than DomainBed' : '') +
      (capped ? ', on capped environments' : '') +
      ', one trial:',
    '',
    `| test environment | ${names.map((n) => (n === s.testEnvName ? `**${label(n)}**` : label(n))).join(' | ')} | avg |`,
    `|---|${'---:|'.repeat(names.length + 1)}`,
    `| ERM (DomainBed) | ${published.envs.map((v, i) => (i === r.testEnv ? `**${v.toFixed(1)}**` : v.toFixed(1))).join(' | ')} | ${published.avg.toFixed(1)} |`,
    `| ${algo} (this run) | ${names.map((_, i) => (i === r.testEnv ? `**${(100 * r.testAcc).toFixed(1)}**` : '')).join(' | ')} | |`,
    '',
    'Command:',
    '',
    '```sh',
    s.invocation,
    '```',
    '',
    '![learning curve](curve.svg)',
    '![accuracy per environment](accuracy.svg)',
    ...(usage ? ['![gate usage](usage.svg)'] : []),
    '',
    ...configSection(c),
  ].join('\n');
  const summary = join(dir, 'summary.md');
  await writeFileAtomic(summary, md);
  files.push(summary);
  return files;
}
