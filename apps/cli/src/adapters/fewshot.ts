import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../continual/options.js';
import type { FewshotConfig } from './options.js';

/**
 * `hypernets adapters fewshot`: what it stores and how its numbers are summarised. No tfjs here
 * (command.ts reads a stored run for `--resume` before any work); run.ts does the runs and
 * report.ts writes the report.
 */

/** What `adapters fewshot` writes into --out. */
export const FEWSHOT_FILES = ['results.json', 'summary.md', 'accuracy-vs-shots.svg', 'accuracy-vs-shots.png'] as const;

/** One finished run: a method on the k shots of draw d, tested on the task's test split. */
export interface FewshotRun {
  method: string;
  shots: number;
  draw: number;
  /** Test accuracy after the last step. */
  acc: number;
  /** PHA: the source task whose prototype the shots retrieved (and every prototype's cosine similarity). */
  retrieved?: string;
  similarities?: Record<string, number>;
  /** Scalars trained. */
  trained: number;
  seconds: number;
}

/** results.json: rewritten (atomically) after every finished run, completed at the end. */
export interface FewshotResults {
  command: 'adapters fewshot';
  /** What --resume must match (fewshotFingerprint). */
  config: FewshotConfig;
  /** The model transferred from: its method, tasks and token budget. */
  source: { dir: string; method: string; tasks: string[]; maxTokens: number };
  /** The held-out task's data. */
  data?: { name: string; kind: string; labels: string[]; train: number; val: number; test: number };
  runs: FewshotRun[];
  /** Every (method, shots, draw) done. */
  complete: boolean;
  /** Mean test accuracy per method and number of shots (when complete). */
  acc?: Record<string, Record<string, number>>;
  /** Σ of the runs' seconds (those of earlier, resumed invocations included). */
  seconds?: number;
  backend?: string;
  device?: string;
}

const RESULTS_MAX_BYTES = 64 * 1024 * 1024;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Runs of `o`'s grid in results.json, checked (a damaged entry is refused, not skipped). */
function checkRuns(file: string, runs: unknown, config: FewshotConfig): FewshotRun[] {
  if (!Array.isArray(runs))
    throw new UsageError(`--resume: ${file} has no list of runs; pass --overwrite to start again`);
  const seen = new Set<string>();
  return runs.map((r: unknown, i) => {
    const ok =
      isObj(r) &&
      typeof r.method === 'string' &&
      (config.methods as readonly string[]).includes(r.method) &&
      num(r.shots) &&
      config.shots.includes(r.shots) &&
      Number.isInteger(r.draw) &&
      (r.draw as number) >= 0 &&
      (r.draw as number) < config.draws &&
      num(r.acc) &&
      r.acc >= 0 &&
      r.acc <= 1 &&
      num(r.trained) &&
      num(r.seconds) &&
      (r.retrieved === undefined || typeof r.retrieved === 'string');
    if (!ok)
      throw new UsageError(
        `--resume: run ${i} of ${file} is damaged or not of this grid (${JSON.stringify(r)?.slice(0, 200)}); pass --overwrite to start again`,
      );
    const key = runKey(r as unknown as FewshotRun);
    if (seen.has(key))
      throw new UsageError(`--resume: ${file} holds run ${key} twice; pass --overwrite to start again`);
    seen.add(key);
    return r as unknown as FewshotRun;
  });
}

export const runKey = (r: Pick<FewshotRun, 'method' | 'shots' | 'draw'>) => `${r.method} k=${r.shots} draw ${r.draw}`;

/**
 * The runs a `--resume` keeps: those of `out/results.json` (none when there is none), which must
 * be an `adapters fewshot` run started with the same `config`. Read before any work.
 */
export async function storedFewshotRuns(out: string, config: FewshotConfig): Promise<FewshotRun[]> {
  const file = join(out, 'results.json');
  const st = await stat(file).catch(() => null);
  if (st === null) return [];
  let json: unknown;
  try {
    if (!st.isFile() || st.size > RESULTS_MAX_BYTES) throw new Error(st.isFile() ? `${st.size} bytes` : 'not a file');
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new UsageError(
      `--resume: ${file} is unreadable (${(e as Error).message}); pass --overwrite to start again, or another --out`,
      { cause: e },
    );
  }
  if (!isObj(json) || json.command !== 'adapters fewshot' || !isObj(json.config))
    throw new UsageError(
      `--resume: ${out} holds no \`adapters fewshot\` run (${file} is another command's); pass another --out, or --overwrite to replace it`,
    );
  const have = json.config;
  const diff = (Object.keys(config) as (keyof FewshotConfig)[]).filter(
    (k) => JSON.stringify(have[k]) !== JSON.stringify(config[k]),
  );
  if (diff.length > 0)
    throw new UsageError(
      `--resume: the run in ${out} was started with other options (${diff
        .map((k) => `${k}: ${JSON.stringify(have[k]) ?? '-'} there, ${JSON.stringify(config[k])} here`)
        .join(
          '; ',
        )}); pass the options that run was started with, another --out for a new run, or --overwrite to replace it`,
    );
  return checkRuns(file, json.runs, config);
}

// ---------------------------------------------------------------------------------------
// summaries

export interface FewshotCell {
  /** Test accuracies of the draws done, in draw order. */
  accs: number[];
  mean: number;
  /** Sample standard deviation (n − 1); undefined for one draw. */
  std?: number;
  /** PHA: the prototype most draws retrieved, and how many did. */
  retrieved?: { task: string; count: number };
}

/** Per method and number of shots: the draws' accuracies, their mean and sample std, PHA's majority prototype. */
export function fewshotCells(runs: readonly FewshotRun[]): Map<string, Map<number, FewshotCell>> {
  const cells = new Map<string, Map<number, FewshotCell>>();
  const groups = new Map<string, FewshotRun[]>();
  for (const r of runs) {
    const k = JSON.stringify([r.method, r.shots]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const [k, rs] of groups) {
    const [method, shots] = JSON.parse(k) as [string, number];
    const sorted = [...rs].sort((a, b) => a.draw - b.draw);
    const accs = sorted.map((r) => r.acc);
    const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
    const std =
      accs.length < 2 ? undefined : Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / (accs.length - 1));
    const votes = new Map<string, number>();
    for (const r of sorted) if (r.retrieved !== undefined) votes.set(r.retrieved, (votes.get(r.retrieved) ?? 0) + 1);
    let retrieved: FewshotCell['retrieved'];
    // the most votes; a tie goes to the task retrieved first (the lowest draw)
    for (const [task, count] of votes) if (!retrieved || count > retrieved.count) retrieved = { task, count };
    if (!cells.has(method)) cells.set(method, new Map());
    cells.get(method)!.set(shots, { accs, mean, std, retrieved });
  }
  return cells;
}

/** `mean ± std` in % (one decimal); the mean alone for one draw. */
export const cellText = (c: FewshotCell | undefined): string =>
  c === undefined ? '-' : `${(100 * c.mean).toFixed(1)}${c.std === undefined ? '' : ` ± ${(100 * c.std).toFixed(1)}`}`;

/** Scalars each method trained (the same at every k: the shots change no shapes); a range if not. */
export function trainedText(runs: readonly FewshotRun[], method: string): string {
  const t = runs.filter((r) => r.method === method).map((r) => r.trained);
  if (t.length === 0) return '-';
  const [lo, hi] = [Math.min(...t), Math.max(...t)];
  const f = (n: number) => n.toLocaleString('en-US');
  return lo === hi ? f(lo) : `${f(lo)}–${f(hi)}`;
}

/**
 * The table: a row per method (trained scalars, then mean ± std test accuracy in % at each k),
 * and for PHA a row of the prototype most draws retrieved at each k. `markdown` or aligned text.
 */
export function fewshotTable(
  methods: readonly string[],
  shots: readonly number[],
  runs: readonly FewshotRun[],
  draws: number,
  markdown: boolean,
): string {
  const cells = fewshotCells(runs);
  const head = ['method', 'trained params', ...shots.map((k) => `${k} shots`)];
  const rows = methods.map((m) => [m, trainedText(runs, m), ...shots.map((k) => cellText(cells.get(m)?.get(k)))]);
  if (methods.includes('pha'))
    rows.push([
      'pha: retrieved',
      '',
      ...shots.map((k) => {
        const r = cells.get('pha')?.get(k)?.retrieved;
        return r ? `${r.task} (${r.count}/${cells.get('pha')!.get(k)!.accs.length})` : '-';
      }),
    ]);
  if (markdown)
    return [
      `| ${head.join(' | ')} |`,
      `|---|${head
        .slice(1)
        .map(() => '---:')
        .join('|')}|`,
      ...rows.map((r) => `| ${r.join(' | ')} |`),
    ].join('\n');
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((x) => x[c]!.length)));
  const line = (cs: string[]) => cs.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join('  ');
  return [
    `test accuracy %, mean ± sample std over ${draws} draw${draws === 1 ? '' : 's'}`,
    line(head),
    ...rows.map(line),
  ].join('\n');
}

/** Mean test accuracy per method and number of shots (`--json`'s `acc`). */
export function meanAcc(
  methods: readonly string[],
  runs: readonly FewshotRun[],
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const cells = fewshotCells(runs);
  for (const m of methods) {
    const byK = cells.get(m);
    if (!byK) continue;
    out[m] = {};
    for (const k of [...byK.keys()].sort((a, b) => a - b)) out[m][String(k)] = byK.get(k)!.mean;
  }
  return out;
}
