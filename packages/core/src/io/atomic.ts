import { CheckpointError } from '../errors.js';
import { describeError, errorCode, nodeModules } from './node.js';

/** What can be written: bytes, text, or a (possibly async) sequence of chunks. */
export type AtomicData =
  | Uint8Array
  | string
  | Iterable<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>;

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

function withCause<E extends Error>(err: E, cause: unknown): E {
  Object.defineProperty(err, 'cause', { value: cause, configurable: true, writable: true });
  return err;
}

function tempName(dir: string, base: string, tag: string, pathMod: typeof import('node:path')): string {
  const rand = Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  return pathMod.join(dir, `.${base}.${tag}-${process.pid}-${++counter}-${rand}`);
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
  else if (Symbol.asyncIterator in data) for await (const c of data as AsyncIterable<Uint8Array | string>) await write(c);
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

  const temps: string[] = [];
  const cleanup = async (paths: readonly string[]) => {
    for (const p of paths) await fs.rm(p, { force: true }).catch(() => undefined);
  };

  // 1. write and fsync every temp file
  for (let i = 0; i < files.length; i++) {
    const target = targets[i];
    const tmp = tempName(path.dirname(target), path.basename(target), 'tmp', path);
    let fh: FileHandle | undefined;
    try {
      fh = await fs.open(tmp, 'wx');
      temps.push(tmp);
      // keep the permissions of the file being replaced
      const mode = await fs.stat(target).then((s) => s.mode & 0o7777, () => undefined);
      if (mode !== undefined) await fh.chmod(mode);
      await writeChunks(fh, files[i].data);
      if (doSync) await fh.sync();
      await fh.close();
      fh = undefined;
    } catch (e) {
      await fh?.close().catch(() => undefined);
      await cleanup(temps);
      if (e instanceof CheckpointError) throw e;
      throw withCause(new CheckpointError(target, `write failed, previous file left untouched (${describeError(e)})`), e);
    }
  }

  // 2. keep a way back for targets that exist, in case a later rename fails
  const backups: (string | undefined)[] = [];
  const existed: boolean[] = [];
  for (const target of targets) {
    const bak = tempName(path.dirname(target), path.basename(target), 'bak', path);
    existed.push(await fs.lstat(target).then(() => true, () => false));
    backups.push(await fs.link(target, bak).then(() => bak, () => undefined));
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
      throw withCause(
        new CheckpointError(
          targets[i],
          `could not move the new file into place; previous files left as they were (${describeError(e)})`,
        ),
        e,
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
