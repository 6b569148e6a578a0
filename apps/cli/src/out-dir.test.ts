import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './continual/options.js';
import { checkDirTarget, checkResumable, prepareOutDir, prepareOutFile } from './out-dir.js';
import { fakeCheckpoint } from './testing/helpers.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

describe('--out checks', () => {
  it('/proc and other pseudo-filesystems are refused at once (recursive mkdir spins there forever)', async () => {
    for (const p of ['/proc/x', '/proc/x/y/z', '/sys/hypernets-run']) {
      if (process.platform !== 'linux') continue;
      await expect(checkDirTarget('--out', p)).rejects.toThrow(/pseudo-filesystem/);
    }
  });

  it('a file, or a path through a file, is not a directory', async () => {
    const dir = tmp('hn-out-');
    const f = join(dir, 'f');
    writeFileSync(f, 'x');
    await expect(checkDirTarget('--out', f)).rejects.toThrow(/exists and is not a directory/);
    await expect(checkDirTarget('--out', join(f, 'run'))).rejects.toThrow(/is not a directory/);
    expect(await checkDirTarget('--out', join(dir, 'a', 'b'))).toEqual([join(dir, 'a'), join(dir, 'a', 'b')]);
    await expect(checkDirTarget('--out', join(dir, ...Array.from({ length: 40 }, () => 'a')))).rejects.toThrow(
      /more than 32 nested/,
    );
  });

  it('an --out holding a run is refused unless --resume or --overwrite; --overwrite removes only the run files', async () => {
    const dir = tmp('hn-out-run-');
    writeFileSync(join(dir, 'results.json'), '{}');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const files = ['checkpoint.json', 'results.json'];
    await expect(
      prepareOutDir({ flag: '--out', out: dir, files, overwrite: false, resume: { resume: false, fingerprint: {} } }),
    ).rejects.toThrow(
      /holds another run \(results\.json\); pass --resume to continue it, a new --out for a new run, or --overwrite to replace it/,
    );
    await expect(prepareOutDir({ flag: '--out', out: dir, files, overwrite: false })).rejects.toThrow(
      /pass a new --out, or --overwrite/,
    );
    await expect(
      prepareOutDir({ flag: '--out', out: dir, files, overwrite: true, resume: { resume: true, fingerprint: {} } }),
    ).rejects.toThrow(/pass one of them/);
    expect(existsSync(join(dir, 'results.json'))).toBe(true);
    await prepareOutDir({ flag: '--out', out: dir, files, overwrite: true });
    expect(readdirSync(dir)).toEqual(['notes.txt']); // the write probe is gone too
    const fresh = join(dir, 'new', 'deeper');
    await prepareOutDir({ flag: '--out', out: fresh, files, overwrite: false });
    expect(readdirSync(fresh)).toEqual([]);
  });

  it("a run's directories count as the run too; --overwrite removes them with what they hold, nothing else", async () => {
    const dir = tmp('hn-out-dirs-');
    mkdirSync(join(dir, 'teachers'));
    writeFileSync(join(dir, 'teachers', 'a.json'), '{}');
    mkdirSync(join(dir, 'mine'));
    writeFileSync(join(dir, 'teachers.txt'), 'mine');
    const o = { flag: '--out', out: dir, files: ['checkpoint.json'], dirs: ['teachers'] };
    await expect(prepareOutDir({ ...o, overwrite: false })).rejects.toThrow(/holds another run \(teachers\/\)/);
    await prepareOutDir({ ...o, overwrite: true });
    expect(readdirSync(dir).sort()).toEqual(['mine', 'teachers.txt']);
  });

  it('--resume checks the checkpoint before any work: same configuration, tensors file whole', async () => {
    const cfg = { benchmark: 'split-mnist', iterations: 5 };
    const ok = tmp('hn-resume-');
    fakeCheckpoint(ok, cfg);
    await checkResumable(ok, cfg);
    await expect(checkResumable(ok, { ...cfg, iterations: 6 })).rejects.toThrow(
      /--resume: the run in .* was started with other options \(iterations: 5 there, 6 here\); .*--overwrite/,
    );
    const trunc = tmp('hn-resume-');
    fakeCheckpoint(trunc, cfg, 'truncate');
    await expect(checkResumable(trunc, cfg)).rejects.toThrow(
      /cannot be resumed: checkpoint\.safetensors is \d+ bytes but checkpoint\.json records/,
    );
    const flip = tmp('hn-resume-');
    fakeCheckpoint(flip, cfg, 'flip');
    await expect(checkResumable(flip, cfg)).rejects.toThrow(/SHA-256/);
    const notJson = tmp('hn-resume-');
    writeFileSync(join(notJson, 'checkpoint.json'), '{"format": "hyper');
    await expect(checkResumable(notJson, cfg)).rejects.toThrow(/not valid JSON/);
    await checkResumable(tmp('hn-resume-none-'), cfg); // nothing saved yet: starts from the beginning
    for (const d of [trunc, flip, notJson]) await expect(checkResumable(d, cfg)).rejects.toBeInstanceOf(UsageError);
  });

  it('an output file is not replaced unless --overwrite, and is never a directory', async () => {
    const dir = tmp('hn-outfile-');
    const f = join(dir, 'x.safetensors');
    writeFileSync(f, 'x');
    await expect(prepareOutFile('--out', f, false)).rejects.toThrow(/exists; pass another file name, or --overwrite/);
    await prepareOutFile('--out', f, true);
    mkdirSync(join(dir, 'd.safetensors'));
    await expect(prepareOutFile('--out', join(dir, 'd.safetensors'), true)).rejects.toThrow(/is a directory/);
    await prepareOutFile('--out', join(dir, 'sub', 'y.safetensors'), false);
    expect(existsSync(join(dir, 'sub'))).toBe(true);
  });
});
