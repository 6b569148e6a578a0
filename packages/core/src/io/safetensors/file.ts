import { CheckpointError } from '../../errors/index.js';
import { describeError, nodeModules } from '../node.js';
import { viewOrCopy } from './decode.js';
import { fail, setEntry, type RawTensor, type SafetensorsFile, type SafetensorsHeader } from './format.js';
import { checkHeaderLength, parseHeader } from './header.js';

// Reading safetensors files in Node: the header first, bounded by the file's size, then each tensor.

type FileHandle = Awaited<ReturnType<typeof import('node:fs/promises').open>>;

const READ_CHUNK = 1 << 26;

async function readFully(fh: FileHandle, into: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const len = Math.min(READ_CHUNK, into.length - done);
    const { bytesRead } = await fh.read(into, done, len, position + done);
    if (bytesRead === 0)
      fail(
        file,
        `file ended at byte ${position + done} while ${into.length - done} more bytes were expected (truncated while reading?)`,
      );
    done += bytesRead;
  }
}

async function openForRead(path: string): Promise<{ fh: FileHandle; size: number }> {
  const { fs } = await nodeModules(path);
  let fh: FileHandle;
  try {
    fh = await fs.open(path, 'r');
  } catch (e) {
    fail(path, `cannot open (${describeError(e)})`, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) fail(path, 'is not a regular file');
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw CheckpointError.isInstance(e)
      ? e
      : new CheckpointError(path, `cannot stat (${describeError(e)})`, { cause: e });
  }
}

async function readHeaderFrom(
  fh: FileHandle,
  size: number,
  file: string,
): Promise<{ header: SafetensorsHeader; head: Uint8Array }> {
  const prefix = new Uint8Array(8);
  if (size >= 8) await readFully(fh, prefix, 0, file);
  const n = checkHeaderLength(prefix, size, file);
  // n is now known to be <= 100 MB and within the file: safe to allocate
  const head = new Uint8Array(8 + n);
  head.set(prefix);
  await readFully(fh, head.subarray(8), 8, file);
  return { header: parseHeader(head.subarray(8), size - 8 - n, size, file), head };
}

/** Reads and validates only the header of a safetensors file (8 bytes, then N bytes). */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const { fh, size } = await openForRead(path);
  try {
    return (await readHeaderFrom(fh, size, path)).header;
  } finally {
    await fh.close();
  }
}

export interface ReadSafetensorsOptions {
  /** Also compute the SHA-256 of the whole file while reading (no second pass). */
  sha256?: boolean;
  /** Only read these tensors (all others are still validated, never read). */
  names?: readonly string[];
}

export interface ReadSafetensorsResult extends SafetensorsFile {
  header: SafetensorsHeader;
  /** Hex SHA-256 of the file, when asked for. */
  sha256?: string;
}

/**
 * Reads a safetensors file. The header is validated against the file size before any tensor
 * memory is allocated, so a lying header costs at most its own (≤ 100 MB) bytes. Each tensor
 * gets its own buffer (aligned; files larger than one ArrayBuffer can hold still load).
 */
export async function readSafetensorsFile(
  path: string,
  options: ReadSafetensorsOptions = {},
): Promise<ReadSafetensorsResult> {
  const { crypto } = await nodeModules(path);
  const { fh, size } = await openForRead(path);
  try {
    const { header, head } = await readHeaderFrom(fh, size, path);
    const wanted = options.names ? new Set(options.names) : undefined;
    if (wanted)
      for (const n of wanted) if (!Object.hasOwn(header.entries, n)) fail(path, `tensor '${n}' is not in the file`);
    const hash = options.sha256 ? crypto.createHash('sha256').update(head) : undefined;
    // file order, so the hash sees the bytes in sequence (the tensors tile the buffer)
    const order = Object.entries(header.entries).sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
    const tensors: Record<string, RawTensor> = {};
    for (const [name, e] of order) {
      if (wanted && !wanted.has(name) && !hash) continue;
      const [begin, end] = e.dataOffsets;
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(end - begin);
      } catch (e) {
        fail(path, `tensor '${name}': cannot allocate ${end - begin} bytes (${describeError(e)})`, e);
      }
      await readFully(fh, bytes, header.dataStart + begin, path);
      hash?.update(bytes);
      if (wanted && !wanted.has(name)) continue;
      setEntry(tensors, name, { dtype: e.dtype, shape: e.shape, data: viewOrCopy(bytes, 0, bytes.length, e.dtype) });
    }
    // back to header order
    const ordered: Record<string, RawTensor> = {};
    for (const name of Object.keys(header.entries))
      if (Object.hasOwn(tensors, name)) setEntry(ordered, name, tensors[name]);
    return { tensors: ordered, metadata: header.metadata, header, sha256: hash?.digest('hex') };
  } finally {
    await fh.close();
  }
}
