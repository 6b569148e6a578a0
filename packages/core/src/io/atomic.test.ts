import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { writeFileAtomic, writeFilesAtomic } from './atomic.js';

let root: string;
let n = 0;
const fresh = () => {
  const d = join(root, `d${++n}`);
  mkdirSync(d);
  return d;
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hypernets-atomic-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('creates and replaces a file, leaving no temp files and keeping its mode', async () => {
    const d = fresh();
    const p = join(d, 'a.bin');
    await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    expect(Array.from(readFileSync(p))).toEqual([1, 2, 3]);
    chmodSync(p, 0o640);
    await writeFileAtomic(p, 'text ✓');
    expect(readFileSync(p, 'utf8')).toBe('text ✓');
    expect(statSync(p).mode & 0o777).toBe(0o640);
    await writeFileAtomic(p, [new Uint8Array([9]), 'x', new Uint8Array(0)]);
    expect(Array.from(readFileSync(p))).toEqual([9, 0x78]);
    expect(readdirSync(d)).toEqual(['a.bin']);
  });

  it('a data source that throws midway leaves the old file intact and no temp file', async () => {
    const d = fresh();
    const p = join(d, 'model.safetensors');
    writeFileSync(p, 'old contents');
    async function* source() {
      yield new Uint8Array(1 << 20);
      yield 'more';
      throw new Error('disk on fire');
    }
    const err = await writeFileAtomic(p, source()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/model\.safetensors.*write failed.*disk on fire/);
    expect(((err as Error).cause as Error).message).toBe('disk on fire');
    expect(readFileSync(p, 'utf8')).toBe('old contents');
    expect(readdirSync(d)).toEqual(['model.safetensors']);
  });

  it('a rename that fails (target is a directory) removes the temp file', async () => {
    const d = fresh();
    const p = join(d, 'taken');
    mkdirSync(p);
    writeFileSync(join(p, 'inside'), 'keep');
    await expect(writeFileAtomic(p, 'x')).rejects.toThrow(CheckpointError);
    expect(readdirSync(d)).toEqual(['taken']);
    expect(readFileSync(join(p, 'inside'), 'utf8')).toBe('keep');
  });

  it('a missing directory fails cleanly', async () => {
    const d = fresh();
    await expect(writeFileAtomic(join(d, 'no', 'such', 'f'), 'x')).rejects.toThrow(/ENOENT/);
    expect(readdirSync(d)).toEqual([]);
  });
});

describe('writeFilesAtomic', () => {
  it('commits several files together', async () => {
    const d = fresh();
    await writeFilesAtomic([
      { path: join(d, 'a'), data: 'A1' },
      { path: join(d, 'b'), data: 'B1' },
    ]);
    await writeFilesAtomic([
      { path: join(d, 'a'), data: 'A2' },
      { path: join(d, 'b'), data: 'B2' },
    ]);
    expect([readFileSync(join(d, 'a'), 'utf8'), readFileSync(join(d, 'b'), 'utf8')]).toEqual(['A2', 'B2']);
    expect(readdirSync(d).sort()).toEqual(['a', 'b']);
  });

  it('when the second file fails, the first keeps its old contents', async () => {
    const d = fresh();
    writeFileSync(join(d, 'a'), 'A-old');
    writeFileSync(join(d, 'b'), 'B-old');
    // failure while writing the second temp file
    await expect(
      writeFilesAtomic([
        { path: join(d, 'a'), data: 'A-new' },
        {
          path: join(d, 'b'),
          data: (function* () {
            yield 'B-n';
            throw new Error('source failed');
          })(),
        },
      ]),
    ).rejects.toThrow(/source failed/);
    expect(readFileSync(join(d, 'a'), 'utf8')).toBe('A-old');
    expect(readFileSync(join(d, 'b'), 'utf8')).toBe('B-old');
    expect(readdirSync(d).sort()).toEqual(['a', 'b']);

    // failure while renaming the second file, after the first was renamed: rolled back
    mkdirSync(join(d, 'c'));
    await expect(
      writeFilesAtomic([
        { path: join(d, 'a'), data: 'A-new' },
        { path: join(d, 'c'), data: 'C' },
      ]),
    ).rejects.toThrow(/could not move the new file into place/);
    expect(readFileSync(join(d, 'a'), 'utf8')).toBe('A-old');
    expect(readdirSync(d).sort()).toEqual(['a', 'b', 'c']);

    // a new file that did not exist before is removed on rollback
    await expect(
      writeFilesAtomic([
        { path: join(d, 'new'), data: 'N' },
        { path: join(d, 'c'), data: 'C' },
      ]),
    ).rejects.toThrow(CheckpointError);
    expect(readdirSync(d).sort()).toEqual(['a', 'b', 'c']);
  });

  it('refuses the same target twice', async () => {
    const d = fresh();
    await expect(
      writeFilesAtomic([
        { path: join(d, 'a'), data: '1' },
        { path: join(d, '.', 'a'), data: '2' },
      ]),
    ).rejects.toThrow(/named twice/);
    expect(readdirSync(d)).toEqual([]);
  });
});
