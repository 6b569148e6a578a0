import { access, constants, mkdir, rm, stat, statfs, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Stats } from 'node:fs';
import { UsageError } from './continual/options.js';

/**
 * Output directories, checked before any work (before data is loaded or a backend starts):
 * a run never replaces another run's files unless told to (`--resume` continues it,
 * `--overwrite` replaces it), a `--resume` checkpoint must belong to this configuration and be
 * whole, and the directory must be creatable and writable on real storage. Node's recursive
 * mkdir spins forever on procfs (`--out /proc/x`), so directories are made one level at a time.
 */

/** statfs magic numbers of Linux kernel pseudo-filesystems (linux/magic.h): nothing a run can be stored on. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'procfs',
  0x62656572: 'sysfs',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x1cd1: 'devpts',
  0xcafe4a11: 'bpf',
  0x6165676c: 'pstore',
  0x62656570: 'configfs',
  0xde5e81e4: 'efivarfs',
  0x42494e4d: 'binfmt_misc',
  0x65735543: 'fusectl',
  0x19800202: 'mqueue',
  0x6e736673: 'nsfs',
};

/** Directories created for one --out, at most (a typo like --out a/a/a/… stops here). */
export const MAX_NEW_LEVELS = 32;

const code = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function statOrNull(p: string): Promise<Stats | null> {
  try {
    return await stat(p);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return null;
    throw new UsageError(`${p}: cannot inspect it (${message(e)})`, { cause: e });
  }
}

async function checkStorage(what: string, dir: string): Promise<void> {
  if (process.platform !== 'linux') return;
  let type: number;
  try {
    type = Number((await statfs(dir)).type);
  } catch {
    return; // statfs unsupported here: the write test below still runs
  }
  const fs = PSEUDO_FS[type];
  if (fs)
    throw new UsageError(
      `${what}: ${dir} is on ${fs}, a kernel pseudo-filesystem, not storage; pass a directory on a disk`,
    );
}

/**
 * Checks that `dir` is, or can be created as, a writable directory on real storage, without
 * creating anything. Returns the directories to create (outermost first; none when it exists).
 */
export async function checkDirTarget(flag: string, dir: string): Promise<string[]> {
  const what = `${flag} ${dir}`;
  const create: string[] = [];
  let p = resolve(dir);
  let st = await statOrNull(p);
  while (st === null) {
    create.unshift(p);
    if (create.length > MAX_NEW_LEVELS)
      throw new UsageError(
        `${what}: would create more than ${MAX_NEW_LEVELS} nested directories; create its parent first`,
      );
    const up = dirname(p);
    if (up === p) throw new UsageError(`${what}: no part of the path exists`);
    p = up;
    st = await statOrNull(p);
  }
  if (!st.isDirectory())
    throw new UsageError(
      create.length === 0
        ? `${what}: exists and is not a directory; pass a directory (it is created if missing)`
        : `${what}: ${p} is not a directory`,
    );
  await checkStorage(what, p);
  try {
    await access(p, constants.W_OK | constants.X_OK);
  } catch {
    throw new UsageError(`${what}: ${p} is not writable; pass a directory you can write to`);
  }
  return create;
}

/** Makes `levels` one at a time (no recursive mkdir), then writes and removes a probe file in the last one. */
export async function makeWritableDir(flag: string, dir: string, levels: readonly string[]): Promise<void> {
  const what = `${flag} ${dir}`;
  for (const d of levels) {
    try {
      await mkdir(d);
    } catch (e) {
      if (code(e) === 'EEXIST' && (await statOrNull(d))?.isDirectory()) continue;
      throw new UsageError(`${what}: cannot create ${d} (${message(e)})`, { cause: e });
    }
  }
  const probe = join(resolve(dir), `.hypernets-write-test-${process.pid}`);
  try {
    await writeFile(probe, 'ok\n', { flag: 'wx' });
  } catch (e) {
    throw new UsageError(`${what}: cannot write there (${message(e)}); pass a directory you can write to`, {
      cause: e,
    });
  }
  await unlink(probe).catch(() => {});
}

/**
 * Checks the checkpoint a `--resume` will load, without loading tensors (no backend yet): core's
 * `verifyCheckpoint`, which validates what the trainers' loader does (a hypernets checkpoint,
 * written with this configuration `fingerprint`, its tensors file whole: size, safetensors
 * structure, SHA-256 as recorded). No checkpoint at all is fine: the run starts from the beginning.
 */
export async function checkResumable(out: string, fingerprint: unknown): Promise<void> {
  const core = await import('@hypernets/core');
  try {
    await core.verifyCheckpoint(join(out, 'checkpoint'), { config: fingerprint ?? null });
  } catch (e) {
    if (e instanceof core.CheckpointConfigError) {
      const json = (x: unknown) => JSON.parse(JSON.stringify(x ?? null)) as unknown;
      const diff = differences(json(e.have), json(e.want));
      const shown =
        diff
          .slice(0, 6)
          .map(([k, h, w]) => `${k}: ${h} there, ${w} here`)
          .join('; ') + (diff.length > 6 ? `; and ${diff.length - 6} more` : '');
      throw new UsageError(
        `--resume: the run in ${out} was started with other options (${shown || 'same values, other layout'}); ` +
          `pass the options that run was started with, another --out for a new run, or --overwrite to replace it`,
      );
    }
    if (!(e instanceof core.CheckpointError)) throw e;
    throw new UsageError(
      `--resume: the checkpoint in ${out} cannot be resumed: ${basename(e.file)} ${e.detail}. Pass --overwrite ` +
        `to start this run again in ${out} (its files are replaced), or another --out`,
    );
  }
}

/** Leaf paths where two JSON values differ: [path, there, here] (values as JSON, `-` for absent). */
function differences(a: unknown, b: unknown, path = ''): [string, string, string][] {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => differences(a[k], b[k], path ? `${path}.${k}` : k));
  }
  const show = (x: unknown) => (x === undefined ? '-' : JSON.stringify(x));
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [[path || '(all)', show(a), show(b)]];
}

export interface OutDirOptions {
  /** The flag that named it, for messages. */
  flag: string;
  out: string;
  /** Files this command writes into `out`: finding any of them means another run is there. */
  files: readonly string[];
  /** Directories this command writes into `out` (the same; --overwrite removes them with what they hold). */
  dirs?: readonly string[];
  overwrite: boolean;
  /** Present for commands that can `--resume`: continue the run in `out` (its checkpoint must match `fingerprint`). */
  resume?: { resume: boolean; fingerprint: unknown };
}

/**
 * Everything about `--out` that can go wrong, checked before any work; then the directory is
 * made (level by level) and test-written, and with `--overwrite` the previous run's files
 * (only those this command writes, by name) are removed, checkpoint first.
 */
export async function prepareOutDir(o: OutDirOptions): Promise<void> {
  const resume = o.resume?.resume ?? false;
  if (resume && o.overwrite)
    throw new UsageError('--resume continues the run in --out and --overwrite replaces it: pass one of them');
  const create = await checkDirTarget(o.flag, o.out);
  const present: string[] = [];
  if (create.length === 0) for (const f of o.files) if ((await statOrNull(join(o.out, f))) !== null) present.push(f);
  const presentDirs: string[] = [];
  if (create.length === 0)
    for (const d of o.dirs ?? []) if ((await statOrNull(join(o.out, d)))?.isDirectory()) presentDirs.push(d);
  present.push(...presentDirs.map((d) => `${d}/`));
  if (present.length > 0 && !resume && !o.overwrite) {
    const shown = present.slice(0, 4).join(', ') + (present.length > 4 ? ', …' : '');
    const ways = o.resume
      ? 'pass --resume to continue it, a new --out for a new run, or --overwrite to replace it'
      : 'pass a new --out, or --overwrite to replace it';
    throw new UsageError(`${o.flag} ${o.out} holds another run (${shown}); ${ways}`);
  }
  if (resume) await checkResumable(o.out, o.resume!.fingerprint);
  await makeWritableDir(o.flag, o.out, create);
  if (o.overwrite) {
    // the JSON commits a checkpoint pair: it goes first, so no half-removed pair looks resumable
    const files = present.filter((f) => !f.endsWith('/'));
    const order = files.sort((a, b) => Number(b === 'checkpoint.json') - Number(a === 'checkpoint.json'));
    for (const f of order) {
      try {
        await unlink(join(o.out, f));
      } catch (e) {
        if (code(e) !== 'ENOENT')
          throw new UsageError(`--overwrite: cannot remove ${join(o.out, f)} (${message(e)})`, { cause: e });
      }
    }
    for (const d of presentDirs) {
      try {
        await rm(join(o.out, d), { recursive: true });
      } catch (e) {
        throw new UsageError(`--overwrite: cannot remove ${join(o.out, d)} (${message(e)})`, { cause: e });
      }
    }
  }
}

/**
 * A single output file (`ghn predict --out x.safetensors`): not an existing file unless
 * `overwrite`, never a directory, its directory creatable and writable.
 */
export async function prepareOutFile(flag: string, file: string, overwrite: boolean): Promise<void> {
  const st = await statOrNull(file);
  if (st?.isDirectory()) throw new UsageError(`${flag} ${file}: is a directory; pass a file name`);
  if (st && !overwrite)
    throw new UsageError(`${flag} ${file}: exists; pass another file name, or --overwrite to replace it`);
  const dir = dirname(resolve(file));
  await makeWritableDir(flag, dir, await checkDirTarget(flag, dir));
}
