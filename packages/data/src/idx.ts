import { DatasetError } from './errors.js';

/**
 * The IDX format of LeCun's MNIST files: a big-endian header (two zero bytes, a type code,
 * the number of dimensions), then one uint32 per dimension, then the values. MNIST uses type
 * 0x08 (unsigned bytes): images are [n, 28, 28], labels [n].
 */
export interface IdxArray {
  readonly dims: readonly number[];
  /** The values, row-major (a view into the file's bytes, no copy). */
  readonly data: Uint8Array;
}

const UBYTE = 0x08;

/** Parses an IDX file of unsigned bytes; `file` names it in errors. */
export function parseIdx(bytes: Uint8Array, file: string, expectedRank?: number): IdxArray {
  if (bytes.length < 4)
    throw new DatasetError(
      file,
      `too short for an IDX header (${bytes.length} bytes); the file is truncated or not IDX`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    throw new DatasetError(
      file,
      `not an IDX file (magic starts 0x${hex(bytes[0]!)}${hex(bytes[1]!)}, expected 0x0000); a gzipped file must be unpacked first`,
    );
  const type = bytes[2]!;
  const rank = bytes[3]!;
  if (type !== UBYTE)
    throw new DatasetError(
      file,
      `IDX value type 0x${hex(type)} is not supported (MNIST files use 0x08, unsigned bytes)`,
    );
  if (expectedRank !== undefined && rank !== expectedRank)
    throw new DatasetError(file, `expected an IDX array of rank ${expectedRank}, the header says ${rank}`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes)
    throw new DatasetError(file, `header of ${headerBytes} bytes is truncated (${bytes.length} bytes)`);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  if (bytes.length !== headerBytes + count)
    throw new DatasetError(
      file,
      `header [${dims.join(', ')}] needs ${headerBytes + count} bytes, the file has ${bytes.length} ` +
        '(truncated or corrupt; reinstall the package that ships it)',
    );
  return { dims, data: bytes.subarray(headerBytes) };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
