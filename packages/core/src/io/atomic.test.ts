import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointError } from '../errors/index.js';
import { removeOrphanTemps, writeFileAtomic, writeFilesAtomic } from './atomic.js';

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

/**
 * Starts a process that begins an atomic write of `target` (first chunk written, then the data
 * source waits forever) and SIGKILLs it once its temp file exists, as a killed training run
 * would be. Returns the dead process's pid.
 */
async function killMidWrite(target: string): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const script = join(dirname(target), 'writer.mts');
  writeFileSync(
    script,
    `import { writeFileAtomic } from ${JSON.stringify(join(here, 'atomic.ts'))};
     async function* slow() { yield new Uint8Array(4096); console.log('writing'); await new Promise(() => setInterval(() => {}, 1000)); }
     await writeFileAtomic(${JSON.stringify(target)}, slow(), { fsync: false });`,
  );
  // tsx (a root dev dependency) runs the TypeScript source, resolved from the package directory
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: join(here, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => b.toString().includes('writing') && resolve());
    child.on('exit', () => reject(new Error(`writer exited early: ${err}`)));
  });
  child.kill('SIGKILL');
  await exited;
  rmSync(script);
  return child.pid!;
}

describe('orphan temp and backup files of killed writes', () => {
  it('the next write of the same file removes what a killed writer left, and nothing else', async () => {
    const d = fresh();
    const p = join(d, 'model.safetensors');
    writeFileSync(p, 'old');
    const dead = await killMidWrite(p);
    const orphan = readdirSync(d).filter((n) => n.startsWith('.model.safetensors.tmp-'));
    expect(orphan).toEqual([expect.stringMatching(new RegExp(`^\\.model\\.safetensors\\.tmp-${dead}-1-[0-9a-f]{8}$`))]);
    expect(statSync(join(d, orphan[0])).size).toBe(4096);
    expect(readFileSync(p, 'utf8')).toBe('old');

    // a backup (hard link) a kill between link and cleanup would leave, of the same dead process
    const bak = `.model.safetensors.bak-${dead}-2-0123abcd`;
    linkSync(p, join(d, bak));
    // not ours to remove: a live process's temp (another run writing now), other targets, other names
    const keep = [
      `.model.safetensors.tmp-${process.ppid}-1-89abcdef`,
      `.other.safetensors.tmp-${dead}-1-0123abcd`,
      `model.safetensors.tmp-${dead}-1-0123abcd`,
      `.model.safetensors.tmp-${dead}-1-0123ABCD`,
      `.model.safetensors.tmp-${dead}-1-0123abcd.x`,
      'notes.txt',
    ];
    for (const k of keep) writeFileSync(join(d, k), 'keep');
    mkdirSync(join(d, `.model.safetensors.tmp-${dead}-3-0123abcd`)); // a directory: never removed

    await writeFileAtomic(p, 'new', { fsync: false });
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(readdirSync(d).sort()).toEqual(
      [...keep, 'model.safetensors', `.model.safetensors.tmp-${dead}-3-0123abcd`].sort(),
    );
    for (const k of keep) expect(readFileSync(join(d, k), 'utf8')).toBe('keep');
  }, 30_000);

  it('never removes the temp file of a write in progress in this process', async () => {
    const d = fresh();
    const p = join(d, 'a.bin');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const writing = new Promise<void>((r) => (started = r));
    async function* source() {
      yield 'first';
      started();
      await gate;
      yield 'second';
    }
    const done = writeFileAtomic(p, source(), { fsync: false });
    await writing;
    const temp = readdirSync(d).find((n) => n.startsWith('.a.bin.tmp-'))!;
    expect(temp).toMatch(new RegExp(`^\\.a\\.bin\\.tmp-${process.pid}-\\d+-[0-9a-f]{8}$`));
    expect(await removeOrphanTemps([p])).toEqual([]);
    expect(existsSync(join(d, temp))).toBe(true);
    // one of this pid's names with no write in flight is a leftover of an earlier process that had this pid
    const stale = `.a.bin.tmp-${process.pid}-999999-0123abcd`;
    writeFileSync(join(d, stale), 'x');
    expect(await removeOrphanTemps([p])).toEqual([join(d, stale)]);
    release();
    await done;
    expect(readdirSync(d)).toEqual(['a.bin']);
    expect(readFileSync(p, 'utf8')).toBe('firstsecond');
  });
});
