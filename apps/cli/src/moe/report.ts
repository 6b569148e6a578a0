import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { MoeLmTestResult, MoeLmTrainResult, ResolvedMoeLmConfig } from '@hypernets/adapters';
import { writeFileAtomic } from '@hypernets/core/internal';
import { lineChartSpec, renderPlot, type TopLevelSpec } from '@hypernets/plot';
import { configSection } from '../continual/report.js';
import type { ResolvedLmOptions } from './options.js';

/** Seed of the corpus's document split: the same train / valid / test text for every run. */
export const CORPUS_SPLIT_SEED = 0;

/** results.json of `moe lm`. */
export interface MoeLmSummary {
  command: 'moe lm';
  router: string;
  /** The options, every default filled in. */
  config: ResolvedLmOptions;
  /** The model as built (MoeLanguageModel's resolved config). */
  model: ResolvedMoeLmConfig;
  /** The corpus (@hypernets/data's loadCharCorpus): symbols and characters per split, the split seed, SHA-256 of the ids. */
  corpus: { symbols: number; train: number; valid: number; test: number; splitSeed: number; sha256: string };
  /** MoeLmTrainer's result: test BPC by k, routing statistics, the best validation step, curves, parameters. */
  result: MoeLmTrainResult;
  /** Training seconds, over every invocation of a resumed run. */
  seconds: number;
  backend: string;
  /** The device in words (wasm: whether its products ran on OpenBLAS). */
  device: string;
  /** The command line as typed. */
  invocation: string;
}

export const ROUTER_TITLES: Record<string, string> = {
  smoe: 'SMoE',
  'smoe-dropout': 'SMoE-Dropout',
  hyperrouter: 'HyperRouter',
  dense: 'dense',
};

const LN2 = Math.log(2);
const bpcText = (x: number) => x.toFixed(4);
const count = (x: number) => Math.round(x).toLocaleString('en-US');
/** "n pre-LN causal Transformer block(s)". */
const blocks = (b: number) => `${b} pre-LN causal Transformer block${b === 1 ? '' : 's'}`;
const isDense = (s: MoeLmSummary) => s.config.evalK === null;

/** The test whose expert usage is plotted: at the validation k, else the first. */
export function usageTest(s: MoeLmSummary): MoeLmTestResult | undefined {
  const t = s.result.tests;
  return isDense(s) ? undefined : (t.find((x) => x.k === s.config.evalK) ?? t[0]);
}

/** Test BPC against k (log₂ axis, the tested k's marked), the value on each point. */
export function bpcSpec(title: string, tests: readonly { k: number; bpc: number }[]): TopLevelSpec {
  const ks = tests.map((t) => t.k);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 280,
    data: { values: tests.map(({ k, bpc }) => ({ k, bpc })) },
    encoding: {
      x: {
        field: 'k',
        type: 'quantitative',
        title: 'experts per token k at test',
        scale: { type: 'log', base: 2, domain: [Math.min(...ks) / 1.4, Math.max(...ks) * 1.4], nice: false },
        axis: { values: ks, format: 'd' },
      },
      y: { field: 'bpc', type: 'quantitative', scale: { zero: false }, title: 'test bits per character' },
    },
    layer: [
      { mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 60 }, color: '#4c78a8' } },
      {
        mark: { type: 'text', dy: -10, fontSize: 11 },
        encoding: { text: { field: 'bpc', type: 'quantitative', format: '.4f' } },
      },
    ],
  };
}

/** Expert usage per block: a heatmap of the share of routed (token, slot) pairs, the share in each cell (E ≤ 32). */
export function usageSpec(title: string, usage: readonly (readonly number[])[]): TopLevelSpec {
  const cells = usage.flatMap((row, block) => row.map((share, expert) => ({ block, expert, share })));
  const experts = usage[0]?.length ?? 0;
  const max = Math.max(1e-12, ...cells.map((c) => c.share));
  const step = experts <= 16 ? 40 : experts <= 32 ? 26 : 12;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: cells },
    encoding: {
      x: { field: 'expert', type: 'ordinal', title: 'expert' },
      y: { field: 'block', type: 'ordinal', title: 'block' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: {
            field: 'share',
            type: 'quantitative',
            scale: { scheme: 'viridis', domain: [0, max] },
            legend: { format: '.0%' },
            title: 'share',
          },
        },
      },
      ...(experts <= 32
        ? [
            {
              mark: { type: 'text' as const, fontSize: experts <= 16 ? 10 : 8 },
              encoding: {
                text: { field: 'share', type: 'quantitative' as const, format: '.1%' },
                color: { condition: { test: `datum.share < ${0.6 * max}`, value: 'white' }, value: 'black' },
              },
            },
          ]
        : []),
    ],
    config: { axis: { labelAngle: 0 }, view: { step } },
  } as TopLevelSpec;
}

/** Training loss (in bits per character) at each step and validation BPC at each evaluation. */
export function curveSpec(s: MoeLmSummary): TopLevelSpec {
  const r = s.result;
  const at = s.config.evalK === null ? '' : ` (k = ${s.config.evalK})`;
  const rows = [
    ...r.curve.map((p) => ({ x: p.step, y: p.loss / LN2, series: 'training loss (bits per character)' })),
    ...r.evals.map((e) => ({ x: e.step, y: e.bpc, series: `validation BPC${at}` })),
  ];
  const base = lineChartSpec({
    title: `${ROUTER_TITLES[s.router] ?? s.router}: training loss and validation bits per character`,
    rows,
    xTitle: 'step',
    yTitle: 'bits per character',
    logY: false,
  }) as TopLevelSpec & { encoding: Record<string, unknown> };
  return {
    ...base,
    // a short run's lines are a few points: mark them
    mark: { type: 'line', strokeWidth: 1.5, point: r.steps <= 100 },
    encoding: {
      ...base.encoding,
      x: { field: 'x', type: 'quantitative', title: 'step', axis: { format: 'd', tickMinStep: 1 } },
      y: { field: 'y', type: 'quantitative', scale: { zero: false }, title: 'bits per character' },
      color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 400 } },
    },
  } as TopLevelSpec;
}

/** k | test BPC | router entropy, as text (stdout). */
export function lmResultTable(s: MoeLmSummary): string {
  const dense = isDense(s);
  const head = ['k', 'test BPC', 'router entropy'];
  const rows = s.result.tests.map((t) => [
    dense ? `${t.k} (dense)` : String(t.k),
    bpcText(t.bpc),
    dense ? '-' : t.routerEntropy.toFixed(4),
  ]);
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((x) => x[c]!.length)));
  const line = (cells: string[]) => cells.map((x, c) => x.padStart(w[c]!)).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/**
 * results.json, bpc-vs-k.{svg,png}, usage.{svg,png} (routed models), curve.{svg,png} and
 * summary.md into `dir` (the JSON and markdown atomically). Returns the files written.
 */
export async function writeLmReport(dir: string, s: MoeLmSummary): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const results = join(dir, 'results.json');
  await writeFileAtomic(results, JSON.stringify(s, null, 2) + '\n');
  const name = ROUTER_TITLES[s.router] ?? s.router;
  const r = s.result;
  const c = s.config;
  const m = s.model;
  const dense = isDense(s);
  const files = [results];
  const bpc = await renderPlot(
    bpcSpec(
      dense
        ? `${name}: test bits per character (an MLP as wide as ${m.experts} experts)`
        : `${name}: test bits per character vs experts per token k (of ${m.experts})`,
      r.tests,
    ),
    join(dir, 'bpc-vs-k'),
  );
  files.push(bpc.svg, bpc.png);
  const u = usageTest(s);
  if (u) {
    const usage = await renderPlot(
      usageSpec(
        `${name}: expert usage per block at k = ${u.k} (share of routed pairs; uniform ${(100 / m.experts).toFixed(1)}%)`,
        u.usage,
      ),
      join(dir, 'usage'),
    );
    files.push(usage.svg, usage.png);
  }
  const curve = await renderPlot(curveSpec(s), join(dir, 'curve'));
  files.push(curve.svg, curve.png);
  const p = r.params;
  const md = [
    dense
      ? '# Dense character language model (the mixture-of-experts baseline)'
      : `# ${name}: a mixture-of-experts character language model`,
    '',
    dense
      ? `Dense baseline: ${blocks(m.numBlocks)} (d ${m.dModel}, ${m.numHeads} heads, ` +
        `${m.positions} positions), each MLP ${m.experts} × ${m.expertHidden} = ${m.experts * m.expertHidden} wide ` +
        '(the parameters of all experts, every one active).'
      : `${blocks(m.numBlocks)} (d ${m.dModel}, ${m.numHeads} heads, ${m.positions} ` +
        `positions), each MLP a mixture of ${m.experts} experts of width ${m.expertHidden}, routed by ${name}; ` +
        `k rose linearly from ${c.kStart} to ${c.kEnd} during training` +
        (m.loadBalance > 0 ? `, load-balancing loss weight ${m.loadBalance}.` : '.'),
    '',
    `Test bits per character on the first ${count(Math.min(c.testSymbols, s.corpus.test - 1))} characters of the ` +
      `test split, with the variables of the best validation step (step **${r.bestStep}** of ${r.steps}: ` +
      `**${bpcText(r.valBpc)}** BPC on ${count(Math.min(c.evalSymbols, s.corpus.valid - 1))} validation characters` +
      `${dense ? '' : ` at k = ${c.evalK}`}; validation every ${c.evalEvery} steps). Windows of ${c.seqLength} ` +
      'characters, no memory across windows.' +
      (dense
        ? ''
        : ' Router entropy: mean entropy (nats) of the router softmax over all experts, per token and block.'),
    '',
    '| k | test BPC | router entropy |',
    '|---:|---:|---:|',
    ...r.tests.map(
      (t) => `| ${dense ? `${t.k} (dense)` : t.k} | ${bpcText(t.bpc)} | ${dense ? '-' : t.routerEntropy.toFixed(4)} |`,
    ),
    '',
    `Parameters: **${count(p.total)}** in all, ${count(p.trainable)} trainable, ${count(p.activePerToken)} active ` +
      `per token${dense ? '' : ` at k = ${c.evalK} (k of ${m.experts} experts, and the router's W_r, b_r)`}.`,
    '',
    `Training: ${r.steps} steps of ${c.batchSize} windows, Adam at lr ${c.lr} cosine-annealed to 0, gradients ` +
      `clipped to norm ${c.gradClip}, seed ${c.seed}; ${s.seconds.toFixed(1)} s on ${s.backend}, ${s.device}.`,
    '',
    `Corpus (\`@hypernets/data\` loadCharCorpus: State of the Union addresses, the Brown corpus, Moby-Dick; ` +
      `${s.corpus.symbols} symbols, document split seed ${s.corpus.splitSeed}): ${count(s.corpus.train)} / ` +
      `${count(s.corpus.valid)} / ${count(s.corpus.test)} characters (train / valid / test), SHA-256 ` +
      `\`${s.corpus.sha256.slice(0, 16)}…\`.`,
    '',
    'Command:',
    '',
    '```sh',
    s.invocation,
    '```',
    '',
    '![test BPC vs k](bpc-vs-k.svg)',
    ...(u ? ['![expert usage](usage.svg)'] : []),
    '![learning curve](curve.svg)',
    '',
    ...configSection(c),
  ].join('\n');
  const summary = join(dir, 'summary.md');
  await writeFileAtomic(summary, md);
  files.push(summary);
  return files;
}
