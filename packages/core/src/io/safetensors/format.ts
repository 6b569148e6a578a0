import { CheckpointError } from '../../errors/index.js';
import { preview } from '../bounded-json.js';

/**
 * The safetensors format (https://github.com/huggingface/safetensors), implemented here:
 *
 *   [u64 little-endian N][N bytes of UTF-8 JSON header, space-padded][data buffer]
 *
 * The header maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}` (offsets
 * relative to the data buffer) plus an optional `"__metadata__": {string: string}`. The
 * tensors must tile the data buffer exactly: no holes, no overlaps, nothing after the last.
 * Everything is little-endian, row-major.
 */

export type SafetensorsDtype =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/**
 * The typed array that holds each dtype's elements. F16 and BF16 hold raw 16-bit patterns
 * (Uint16Array), BOOL one byte per element (0 or 1), I64/U64 bigint arrays.
 */
export type SafetensorsData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** One tensor as stored in a safetensors file: dtype, shape and its elements. */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsData;
}

/** A header entry as validated: where a tensor's bytes lie in the data buffer. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) byte offsets relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

/** A validated header. `entries` is in header order. */
export interface SafetensorsHeader {
  entries: Record<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** N, the header's byte length (padding included). */
  headerLength: number;
  /** Byte offset of the data buffer in the file: 8 + N. */
  dataStart: number;
  /** Total byte length of the file. */
  byteLength: number;
}

export interface SafetensorsFile {
  /** Tensors in header order. */
  tensors: Record<string, RawTensor>;
  metadata: Record<string, string>;
}

export type TypedArrayCtor = {
  new (length: number): SafetensorsData;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): SafetensorsData;
  readonly BYTES_PER_ELEMENT: number;
};

export const DTYPES: Record<SafetensorsDtype, TypedArrayCtor> = {
  F64: Float64Array as unknown as TypedArrayCtor,
  F32: Float32Array as unknown as TypedArrayCtor,
  F16: Uint16Array as unknown as TypedArrayCtor,
  BF16: Uint16Array as unknown as TypedArrayCtor,
  I64: BigInt64Array as unknown as TypedArrayCtor,
  I32: Int32Array as unknown as TypedArrayCtor,
  I16: Int16Array as unknown as TypedArrayCtor,
  I8: Int8Array as unknown as TypedArrayCtor,
  U64: BigUint64Array as unknown as TypedArrayCtor,
  U32: Uint32Array as unknown as TypedArrayCtor,
  U16: Uint16Array as unknown as TypedArrayCtor,
  U8: Uint8Array as unknown as TypedArrayCtor,
  BOOL: Uint8Array as unknown as TypedArrayCtor,
};

/** Every dtype this implementation reads and writes. */
export const SAFETENSORS_DTYPES = Object.freeze(Object.keys(DTYPES) as SafetensorsDtype[]);

/** Bytes per element of a dtype. */
export function dtypeSize(dtype: SafetensorsDtype): number {
  return DTYPES[dtype].BYTES_PER_ELEMENT;
}

export function isSafetensorsDtype(x: unknown): x is SafetensorsDtype {
  return typeof x === 'string' && Object.hasOwn(DTYPES, x);
}

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

// Shared by encode, header, decode, file and tensors; not exported from the package.

export const METADATA_KEY = '__metadata__';
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
export const DEFAULT_FILE = '<safetensors bytes>';

/** `cause`: the error this one wraps, when a catch rethrows. */
export function fail(file: string, detail: string, cause?: unknown): never {
  throw new CheckpointError(file, detail, cause === undefined ? undefined : { cause });
}

export function checkShape(shape: unknown, what: string, file: string): number {
  if (!Array.isArray(shape)) fail(file, `${what}: shape must be an array of integers, got ${preview(shape)}`);
  let n = 1;
  let zero = false;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || (d as number) < 0)
      fail(file, `${what}: shape ${preview(shape)} must hold integers >= 0`);
    n *= d as number;
    if (d === 0) zero = true;
  }
  return zero ? 0 : n;
}

/** A copy of `bytes` with each `size`-byte group reversed (big-endian hosts only). */
export function swapBytes(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j];
  return out;
}

export function setEntry<T>(record: Record<string, T>, key: string, value: T): void {
  // defineProperty, not assignment, for "__proto__": it must stay an own entry (assignment is faster for the rest)
  if (key === '__proto__')
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}
