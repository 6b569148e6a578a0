import { CheckpointError } from '../errors/index.js';
import { describeError, errorCode, nodeModules } from './node.js';

/** What can be written: bytes, text, or a (possibly async) sequence of chunks. */
export type AtomicData = Uint8Array | string | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

export interface AtomicFile {
  path: string;
  data: AtomicData;
}

export interface AtomicWriteOptions {
  /** fsync files and directories (default true). Off only for throwaway data in tests. */
  fsync?: boolean;
}

type FileHandle = Awaited<ReturnType<typeof import('node:fs/promises').open>>;

let counter = 0;

/** Temp and backup files this process is writing or holding right now (absolute paths). */
const inFlight = new Set<string>();

/**
 * `.<target name>.<tmp|bak>-<pid>-<counter>-<8 hex>`: what `tempName` makes. Only names of this
 * shape, for the target being written, are ever cleaned up.
 */
const TEMP_NAME = /^\.(.+)\.(tmp|bak)-(\d{1,10})-(\d{1,16})-([0-9a-f]{8})$/;

function tempName(dir: string, base: string, tag: string, pathMod: typeof import('node:path')): string {
  const rand = Math.floor(Math.random() * 0x100000000)
    .toString(16)
    .padStart(8, '0');
  const name = pathMod.join(dir, `.${base}.${tag}-${process.pid}-${++counter}-${rand}`);
  inFlight.add(name);
  return name;
}

/** Whether a process with this id runs on this machine (EPERM: it does, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errorCode(e) === 'EPERM';
  }
}

/**
 * Removes temp and backup files that earlier atomic writes of `targets` left behind when their
 * process was killed (between creating a temp file and renaming it, or between the hard-link
 * backup and its removal). Only files beside each target named as this module names them for that
 * target are touched, and of those only ones whose process is gone: files of a live process (another
 * run writing the same file) and of this process's writes in progress are kept. Best effort: a
 * file that cannot be listed or removed is left. Returns the paths removed.
 *
 * Called by every atomic write for its own targets, and by `loadCheckpointIfAny` (resume).
 */
export async function removeOrphanTemps(targets: readonly string[]): Promise<string[]> {
  if (targets.length === 0) return [];
  const { fs, path } = await nodeModules(targets[0]);
  const byDir = new Map<string, Set<string>>();
  for (const t of targets) {
    const abs = path.resolve(t);
    const dir = path.dirname(abs);
    if (!byDir.has(dir)) byDir.set(dir, new Set());
    byDir.get(dir)!.add(path.basename(abs));
  }
  const removed: string[] = [];
  for (const [dir, bases] of byDir) {
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = TEMP_NAME.exec(name);
      if (!m || !bases.has(m[1])) continue;
      const file = path.join(dir, name);
      if (inFlight.has(file)) continue;
      const pid = Number(m[3]);
      if (pid < 1 || pid > 0x7fffffff) continue;
      // our own pid with no write of ours in flight: a killed earlier process had this pid
      if (pid !== process.pid && processAlive(pid)) continue;
      try {
        if (!(await fs.lstat(file)).isFile()) continue;
        await fs.rm(file);
        removed.push(file);
      } catch {
        // gone already, or not ours to remove: leave it
      }
    }
  }
  return removed;
}

async function writeChunks(fh: FileHandle, data: AtomicData): Promise<void> {
  const enc = new TextEncoder();
  const write = async (c: Uint8Array | string) => {
    const bytes = typeof c === 'string' ? enc.encode(c) : c;
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
      done += bytesWritten;
    }
  };
  if (typeof data === 'string' || data instanceof Uint8Array) await write(data);
  else if (Symbol.asyncIterator in data)
    for await (const c of data as AsyncIterable<Uint8Array | string>) await write(c);
  else for (const c of data as Iterable<Uint8Array | string>) await write(c);
}

async function fsyncDir(fs: typeof import('node:fs/promises'), dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await fs.open(dir, 'r');
    await fh.sync();
  } catch (e) {
    // Some platforms (Windows) and file systems cannot open or fsync a directory.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EACCES', 'EBADF', 'ENOTSUP'].includes(errorCode(e) ?? '')) throw e;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * Writes several files so that each is replaced whole or not at all: every file goes to a
 * temp file in its target's directory and is fsynced; only when all are on disk are they
 * renamed over their targets, in the order given (put the file that commits the set last,
 * e.g. the JSON that names the tensors file's hash), then the directories are fsynced.
 *
 * If writing any temp file fails (the data source throws, the disk is full), all temps are
 * removed and no target is touched. If a rename fails, the targets already replaced are
 * restored from hard-link backups where the file system allows. A crash between two renames
 * can still leave a new file beside an old one: readers must detect that (checkpoints do,
 * through the hash their JSON records).
 */
export async function writeFilesAtomic(files: readonly AtomicFile[], options: AtomicWriteOptions = {}): Promise<void> {
  const doSync = options.fsync ?? true;
  const first = files[0]?.path ?? '<none>';
  const { fs, path } = await nodeModules(first);
  const targets = files.map((f) => path.resolve(f.path));
  const dup = targets.find((t, i) => targets.indexOf(t) !== i);
  if (dup) throw new CheckpointError(dup, 'named twice in one atomic write');

  // what killed earlier writes of these files left behind
  await removeOrphanTemps(targets);

  const named: string[] = [];
  try {
    await commit(files, targets, doSync, named, fs, path);
  } finally {
    for (const p of named) inFlight.delete(p);
  }
}

/** The steps of writeFilesAtomic; every temp and backup name it makes goes into `named`. */
async function commit(
  files: readonly AtomicFile[],
  targets: readonly string[],
  doSync: boolean,
  named: string[],
  fs: typeof import('node:fs/promises'),
  path: typeof import('node:path'),
): Promise<void> {
  const temps: string[] = [];
  const cleanup = async (paths: readonly string[]) => {
    for (const p of paths) await fs.rm(p, { force: true }).catch(() => undefined);
  };

  // 1. write and fsync every temp file
  for (let i = 0; i < files.length; i++) {
    const target = targets[i];
    const tmp = tempName(path.dirname(target), path.basename(target), 'tmp', path);
    named.push(tmp);
    let fh: FileHandle | undefined;
    try {
      fh = await fs.open(tmp, 'wx');
      temps.push(tmp);
      // keep the permissions of the file being replaced
      const mode = await fs.stat(target).then(
        (s) => s.mode & 0o7777,
        () => undefined,
      );
      if (mode !== undefined) await fh.chmod(mode);
      await writeChunks(fh, files[i].data);
      if (doSync) await fh.sync();
      await fh.close();
      fh = undefined;
    } catch (e) {
      await fh?.close().catch(() => undefined);
      await cleanup(temps);
      if (CheckpointError.isInstance(e)) throw e;
      throw new CheckpointError(target, `write failed, previous file left untouched (${describeError(e)})`, {
        cause: e,
      });
    }
  }

  // 2. keep a way back for targets that exist, in case a later rename fails
  const backups: (string | undefined)[] = [];
  const existed: boolean[] = [];
  for (const target of targets) {
    const bak = tempName(path.dirname(target), path.basename(target), 'bak', path);
    named.push(bak);
    existed.push(
      await fs.lstat(target).then(
        () => true,
        () => false,
      ),
    );
    backups.push(
      await fs.link(target, bak).then(
        () => bak,
        () => undefined,
      ),
    );
  }

  // 3. rename into place
  for (let i = 0; i < targets.length; i++) {
    try {
      await fs.rename(temps[i], targets[i]);
    } catch (e) {
      for (let j = 0; j < i; j++) {
        const bak = backups[j];
        if (bak) await fs.rename(bak, targets[j]).catch(() => undefined);
        else if (!existed[j]) await fs.rm(targets[j], { force: true }).catch(() => undefined);
      }
      await cleanup([...temps.slice(i), ...backups.filter((b): b is string => b !== undefined)]);
      throw new CheckpointError(
        targets[i],
        `could not move the new file into place; previous files left as they were (${describeError(e)})`,
        { cause: e },
      );
    }
  }
  await cleanup(backups.filter((b): b is string => b !== undefined));

  // 4. make the renames durable
  if (doSync) for (const dir of new Set(targets.map((t) => path.dirname(t)))) await fsyncDir(fs, dir);
}

/**
 * Replaces `path` with `data` atomically: temp file in the same directory, fsync, rename over
 * the target, fsync the directory. On failure the temp file is removed and the old file stays.
 */
export async function writeFileAtomic(path: string, data: AtomicData, options: AtomicWriteOptions = {}): Promise<void> {
  await writeFilesAtomic([{ path, data }], options);
}
