import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors.js';
import { clip, preview, quoteName } from './bounded-json.js';
import { describeError, nodeModules } from './node.js';

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
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';

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

type TypedArrayCtor = {
  new (length: number): SafetensorsData;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): SafetensorsData;
  readonly BYTES_PER_ELEMENT: number;
};

const DTYPES: Record<SafetensorsDtype, TypedArrayCtor> = {
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

const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const DEFAULT_FILE = '<safetensors bytes>';

// ---------------------------------------------------------------------------------------
// float16 / bfloat16

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE binary16 bits of a float32's bit pattern, rounded to nearest even. */
function halfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0); // inf, NaN
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    // subnormal half (or zero): value = m · 2^(e-14) in units of 2^-24
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (r & 1) !== 0)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // a carry out of the mantissa bumps the exponent, and from the top exponent to inf: both correct
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) !== 0)) r++;
  return sign | r;
}

/** float32 values → IEEE half bit patterns (round to nearest even, overflow to ±inf). */
export function float32ToFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  if (values instanceof Float32Array) {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) out[i] = halfBits(bits[i]);
  } else {
    for (let i = 0; i < values.length; i++) {
      f32Scratch[0] = values[i];
      out[i] = halfBits(u32Scratch[0]);
    }
  }
  return out;
}

let halfTable: Float32Array | undefined;

/** IEEE half bit patterns → float32 (exact). */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >>> 10) & 0x1f;
      const m = h & 0x3ff;
      halfTable[h] =
        e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1024 + m) * 2 ** (e - 25);
    }
  }
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfTable[bits[i]];
  return out;
}

/** float32 values → bfloat16 bit patterns (round to nearest even). */
export function float32ToBfloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32Scratch[0] = values[i];
    const x = u32Scratch[0];
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) out[i] = (x >>> 16) | 0x40; // quiet NaN
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** bfloat16 bit patterns → float32 (exact). */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

// ---------------------------------------------------------------------------------------
// encoding

export interface EncodeOptions {
  /** Named in error messages. */
  file?: string;
}

function fail(file: string, detail: string): never {
  throw new CheckpointError(file, detail);
}

function checkShape(shape: unknown, what: string, file: string): number {
  if (!Array.isArray(shape)) fail(file, `${what}: shape must be an array of integers, got ${preview(shape)}`);
  let n = 1;
  let zero = false;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) fail(file, `${what}: shape ${preview(shape)} must hold integers >= 0`);
    n *= d as number;
    if (d === 0) zero = true;
  }
  return zero ? 0 : n;
}

function checkMetadata(metadata: unknown, file: string): Record<string, string> {
  if (metadata === undefined) return {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    fail(file, `${METADATA_KEY} must be an object of string values`);
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string')
      fail(file, `${METADATA_KEY} entry ${quoteName(k)} must be a string, got ${typeof v} (safetensors metadata is string → string)`);
  return metadata as Record<string, string>;
}

function dataBytes(data: SafetensorsData, size: number): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return LITTLE_ENDIAN || size === 1 ? bytes : swapBytes(bytes, size);
}

/** A copy of `bytes` with each `size`-byte group reversed (big-endian hosts only). */
function swapBytes(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j];
  return out;
}

function setEntry<T>(record: Record<string, T>, key: string, value: T): void {
  // defineProperty, not assignment, for "__proto__": it must stay an own entry (assignment is faster for the rest)
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/**
 * The encoded file as a list of chunks (header first, then each tensor's bytes, views of the
 * given arrays on little-endian hosts) so large checkpoints stream to disk without a second
 * copy. Tensors are laid out by element size (largest first), then name: every tensor stays
 * aligned to its element size, so readers can view it in place.
 */
export function encodeSafetensorsChunks(
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
  { file = DEFAULT_FILE }: EncodeOptions = {},
): { chunks: Uint8Array[]; byteLength: number } {
  const meta = checkMetadata(metadata, file);
  const items: { name: string; dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array; size: number }[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const what = `tensor '${name}'`;
    if (name === '' || name === METADATA_KEY) fail(file, `${what}: invalid tensor name`);
    if (!t || typeof t !== 'object') fail(file, `${what}: expected {dtype, shape, data}`);
    if (!isSafetensorsDtype(t.dtype))
      fail(file, `${what}: unknown dtype '${String(t.dtype)}' (known: ${SAFETENSORS_DTYPES.join(', ')})`);
    const n = checkShape(t.shape, what, file);
    const ctor = DTYPES[t.dtype];
    const okArray =
      t.data instanceof ctor ||
      ((t.dtype === 'U8' || t.dtype === 'BOOL') && (t.data as unknown) instanceof Uint8ClampedArray);
    if (!okArray)
      fail(file, `${what}: dtype ${t.dtype} needs its data in a ${ctor.name}, got ${Object.prototype.toString.call(t.data)}`);
    if (t.data.length !== n)
      fail(file, `${what}: shape [${t.shape.join(', ')}] has ${n} elements but data holds ${t.data.length}`);
    const size = ctor.BYTES_PER_ELEMENT;
    items.push({ name, dtype: t.dtype, shape: [...t.shape], bytes: dataBytes(t.data, size), size });
  }
  items.sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // Built by hand, not JSON.stringify(object): object keys that look like integers would be
  // reordered, and "__proto__" would not be an own key.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const m = Object.entries(meta).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${m.join(',')}}`);
  }
  let offset = 0;
  for (const it of items) {
    const end = offset + it.bytes.byteLength;
    parts.push(
      `${JSON.stringify(it.name)}:{"dtype":"${it.dtype}","shape":[${it.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > MAX_HEADER_BYTES)
    fail(file, `header would take ${headerLength} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers enforce`);
  const head = new Uint8Array(8 + headerLength).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, 8);
  return { chunks: [head, ...items.map((it) => it.bytes)], byteLength: head.length + offset };
}

/** Encodes tensors (and string metadata) as one safetensors byte array. */
export function encodeSafetensors(
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
  options: EncodeOptions = {},
): Uint8Array {
  const { chunks, byteLength } = encodeSafetensorsChunks(tensors, metadata, options);
  const out = new Uint8Array(byteLength);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// header validation

/** Checks the 8-byte prefix against the file size; returns N. */
function checkHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8)
    fail(file, `file is ${fileSize} bytes, shorter than the 8-byte header length (truncated, or not a safetensors file)`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES))
    fail(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt, or not a safetensors file)`);
  if (8n + n > BigInt(fileSize))
    fail(file, `header length ${n} runs past the end of the ${fileSize}-byte file (truncated or corrupt)`);
  if (n < 2n) fail(file, `header length ${n} is too short to hold a JSON object`);
  return Number(n);
}

/** Most dimensions a shape may have (TensorFlow allows 254, NumPy 64): far more is a corrupt or hostile file. */
export const MAX_RANK = 1024;

/** Most `__metadata__` entries a header may hold (each costs ~100 bytes of memory for as few as 8 in the file). */
export const MAX_METADATA_ENTRIES = 65_536;

const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const CONTROL = /[\u0000-\u001f]/;

/**
 * Reads the safetensors header grammar (an object of tensor entries `{dtype, shape,
 * data_offsets}` and an optional `__metadata__` object of strings) straight from its text, without
 * building a JSON tree first: what it allocates is what it returns (about 5 times the bytes of
 * a header of tiny tensors), anything else fails at the first character that cannot belong to a
 * header, and nothing nests deeper than 3 levels. Strict JSON: what JSON.parse rejects, it rejects.
 */
class HeaderReader {
  i = 0;
  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  fail(detail: string): never {
    throw new CheckpointError(this.file, detail);
  }

  syntax(expected: string): never {
    const t = this.text;
    const found = this.i >= t.length ? 'the end of the header' : JSON.stringify(t.slice(this.i, this.i + 12));
    this.fail(`header is not valid JSON (expected ${expected} at character ${this.i}, found ${found})`);
  }

  /** Skips whitespace; the next character's code, or -1 at the end. */
  ws(): number {
    const t = this.text;
    let i = this.i;
    for (; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    }
    this.i = i;
    return i < t.length ? t.charCodeAt(i) : -1;
  }

  expect(c: number, what: string): void {
    if (this.ws() !== c) this.syntax(what);
    this.i++;
  }

  string(): string {
    const t = this.text;
    if (this.ws() !== 0x22) this.syntax('a string');
    const start = this.i;
    let q = t.indexOf('"', start + 1);
    for (;;) {
      if (q < 0) {
        this.i = t.length;
        this.syntax('the end of a string');
      }
      let k = q - 1;
      while (t.charCodeAt(k) === 0x5c) k--;
      if ((q - 1 - k) % 2 === 0) break;
      q = t.indexOf('"', q + 1);
    }
    this.i = q + 1;
    const raw = t.slice(start + 1, q);
    if (raw.indexOf('\\') < 0 && !CONTROL.test(raw)) return raw;
    try {
      return JSON.parse(t.slice(start, q + 1)) as string; // escapes decoded and checked
    } catch {
      this.i = start;
      this.syntax('a valid string');
    }
  }

  /** A number at the cursor, or undefined when none starts here. */
  number(): number | undefined {
    const t = this.text;
    const start = this.i;
    let i = start;
    let c = t.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      // the common case, a plain integer, without a slice
      let v = 0;
      do {
        v = v * 10 + (c - 0x30);
        c = t.charCodeAt(++i);
      } while (c >= 0x30 && c <= 0x39);
      if (c !== 0x2e && c !== 0x65 && c !== 0x45 && i - start <= 15) {
        if (i - start > 1 && t.charCodeAt(start) === 0x30) this.syntax('a number without leading zeros');
        this.i = i;
        return v;
      }
    } else if (c !== 0x2d) return undefined;
    for (i = start; i < t.length; i++) {
      c = t.charCodeAt(i);
      if (!((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45)) break;
    }
    const token = t.slice(start, i);
    if (!NUMBER.test(token)) this.syntax('a number');
    this.i = i;
    return Number(token);
  }

  /** Checks (and steps over) any JSON value, keeping nothing; containers may nest to `3 - depth` more levels. */
  skip(depth: number): void {
    const c = this.ws();
    if (c === 0x22) {
      this.string();
      return;
    }
    if (c === 0x7b || c === 0x5b) {
      if (depth + 1 > 3) this.fail(`header nests deeper than 3 levels (at character ${this.i}); corrupt or hostile file`);
      this.i++;
      const close = c === 0x7b ? 0x7d : 0x5d;
      if (this.ws() === close) {
        this.i++;
        return;
      }
      for (;;) {
        if (c === 0x7b) {
          this.string();
          this.expect(0x3a, "':'");
        }
        this.skip(depth + 1);
        const d = this.ws();
        this.i++;
        if (d === 0x2c) continue;
        if (d === close) return;
        this.i--;
        this.syntax(c === 0x7b ? "',' or '}'" : "',' or ']'");
      }
    }
    if (this.number() !== undefined) return;
    for (const lit of ['true', 'false', 'null'])
      if (this.text.startsWith(lit, this.i)) {
        this.i += lit.length;
        return;
      }
    this.syntax('a value');
  }

  /** The value starting at `start` as text, shortened, for messages (reads at most 200 characters). */
  preview(start: number): string {
    const head = this.text.slice(start, start + 200);
    const r = new HeaderReader(head, this.file);
    let end = 81;
    try {
      r.skip(2);
      end = r.i;
    } catch {
      // longer than 200 characters, or unreadable: show its beginning
    }
    return clip(head.slice(0, Math.min(end, 81)), 80);
  }

  /** `[int, …]` of safe integers >= 0 (at most `max`); `bad(start)` on anything else. */
  ints(max: number, bad: (start: number) => never): number[] {
    const start = this.i;
    this.i++;
    const out: number[] = [];
    if (this.ws() === 0x5d) {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      const v = this.number();
      if (v === undefined || !Number.isSafeInteger(v) || v < 0 || out.length >= max) bad(start);
      out.push(v);
      const c = this.ws();
      this.i++;
      if (c === 0x2c) continue;
      if (c === 0x5d) return out;
      this.i--;
      this.syntax("',' or ']'");
    }
  }

  metadata(): Record<string, string> {
    if (this.ws() !== 0x7b) this.fail(`${METADATA_KEY} must be an object of string values`);
    this.i++;
    const out: Record<string, string> = {};
    if (this.ws() === 0x7d) {
      this.i++;
      return out;
    }
    for (let count = 1; ; count++) {
      const k = this.string();
      this.expect(0x3a, "':'");
      const c = this.ws();
      if (c !== 0x22) {
        const type = c === 0x7b || c === 0x5b || c === 0x6e ? 'object' : c === 0x74 || c === 0x66 ? 'boolean' : 'number';
        this.fail(`${METADATA_KEY} entry ${quoteName(k)} must be a string, got ${type} (safetensors metadata is string → string)`);
      }
      if (count > MAX_METADATA_ENTRIES)
        this.fail(`${METADATA_KEY} holds more than ${MAX_METADATA_ENTRIES} entries; corrupt or hostile file`);
      setEntry(out, k, this.string());
      const d = this.ws();
      this.i++;
      if (d === 0x2c) continue;
      if (d === 0x7d) return out;
      this.i--;
      this.syntax("',' or '}'");
    }
  }

  /** One tensor entry, validated against the data buffer's length. */
  entry(name: string, dataLength: number): SafetensorsEntry {
    const what = `tensor ${quoteName(name)}`;
    if (this.ws() !== 0x7b) this.fail(`${what}: entry must be an object {dtype, shape, data_offsets}`);
    this.i++;
    let dtype: unknown;
    let dtypeText = 'undefined';
    let shape: number[] | undefined;
    let offsets: number[] | undefined;
    let known = 0; // bit per known field seen
    let others: Set<string> | undefined;
    if (this.ws() === 0x7d) this.i++;
    else
      for (;;) {
        const key = this.string();
        this.expect(0x3a, "':'");
        const bit = key === 'dtype' ? 1 : key === 'shape' ? 2 : key === 'data_offsets' ? 4 : 0;
        if (bit ? known & bit : others?.has(key)) this.fail(`${what}: field ${quoteName(key)} appears more than once`);
        if (bit) known |= bit;
        else (others ??= new Set()).add(key);
        const c = this.ws();
        const start = this.i;
        if (key === 'dtype') {
          if (c === 0x22) dtypeText = JSON.stringify((dtype = this.string()));
          else {
            dtypeText = this.preview(start);
            this.skip(2);
          }
        } else if (key === 'shape') {
          if (c !== 0x5b) this.fail(`${what}: shape must be an array of integers, got ${this.preview(start)}`);
          shape = this.ints(MAX_RANK, (st) =>
            this.fail(`${what}: shape ${this.preview(st)} must hold at most ${MAX_RANK} integers >= 0`),
          );
        } else if (key === 'data_offsets') {
          const bad = (st: number): never => this.fail(`${what}: data_offsets must be two integers >= 0, got ${this.preview(st)}`);
          if (c !== 0x5b) bad(start);
          offsets = this.ints(2, bad);
          if (offsets.length !== 2) bad(start);
        } else this.skip(2); // other fields are allowed, and ignored
        const d = this.ws();
        this.i++;
        if (d === 0x2c) continue;
        if (d === 0x7d) break;
        this.i--;
        this.syntax("',' or '}'");
      }
    if (!isSafetensorsDtype(dtype)) this.fail(`${what}: unknown dtype ${clip(dtypeText)} (known: ${SAFETENSORS_DTYPES.join(', ')})`);
    if (shape === undefined) this.fail(`${what}: shape must be an array of integers, got undefined`);
    if (offsets === undefined) this.fail(`${what}: data_offsets must be two integers >= 0, got undefined`);
    const n = checkShape(shape, what, this.file);
    const [begin, end] = offsets as [number, number];
    if (begin > end) this.fail(`${what}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength)
      this.fail(`${what}: data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data buffer (truncated or corrupt)`);
    const need = n * DTYPES[dtype].BYTES_PER_ELEMENT;
    if (end - begin !== need)
      this.fail(`${what}: shape ${preview(shape)} of ${dtype} needs ${need} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    return { dtype, shape, dataOffsets: [begin, end] };
  }
}

/**
 * Validates a header against the data buffer's length before anything is allocated for
 * tensors: JSON shape, dtypes, shapes, offsets within the buffer, byte counts, no overlaps,
 * no holes, unique names. Time and memory are linear in the header's bytes.
 */
function parseHeader(headerBytes: Uint8Array, dataLength: number, fileSize: number, file: string): SafetensorsHeader {
  if (headerBytes[0] !== 0x7b) fail(file, `header does not start with '{' (not a safetensors file?)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail(file, 'header is not valid UTF-8');
  }
  const r = new HeaderReader(text, file);
  const entries: Record<string, SafetensorsEntry> = {};
  let metadata: Record<string, string> = {};
  const seen = new Set<string>();
  // tensor i's name and span, in header order (flat arrays: a header may hold a million tensors)
  const names: string[] = [];
  const begins: number[] = [];
  const ends: number[] = [];
  r.expect(0x7b, "'{'");
  if (r.ws() === 0x7d) r.i++;
  else
    for (;;) {
      const name = r.string();
      r.expect(0x3a, "':'");
      if (seen.has(name)) fail(file, `tensor ${quoteName(name)} appears more than once in the header`);
      seen.add(name);
      if (name === METADATA_KEY) metadata = r.metadata();
      else {
        const e = r.entry(name, dataLength);
        setEntry(entries, name, e);
        names.push(name);
        begins.push(e.dataOffsets[0]);
        ends.push(e.dataOffsets[1]);
      }
      const c = r.ws();
      r.i++;
      if (c === 0x2c) continue;
      if (c === 0x7d) break;
      r.i--;
      r.syntax("',' or '}'");
    }
  if (r.ws() !== -1) r.syntax('only spaces after the header object');

  const order = new Uint32Array(names.length).map((_, i) => i);
  order.sort((a, b) => begins[a] - begins[b] || ends[a] - ends[b]);
  const spans = (function* () {
    for (const i of order) yield { name: names[i], begin: begins[i], end: ends[i] };
  })();
  let cursor = 0;
  let prev: { name: string; begin: number; end: number } | undefined;
  for (const s of spans) {
    if (s.begin < cursor)
      fail(
        file,
        `tensor ${quoteName(s.name)}: data_offsets [${s.begin}, ${s.end}] overlap tensor ${quoteName(prev!.name)} [${prev!.begin}, ${prev!.end}]`,
      );
    if (s.begin > cursor)
      fail(file, `tensor ${quoteName(s.name)}: bytes [${cursor}, ${s.begin}) before it belong to no tensor (a hole in the data buffer)`);
    cursor = s.end;
    prev = s;
  }
  if (cursor !== dataLength)
    fail(
      file,
      `data buffer holds ${dataLength} bytes but the tensors cover ${cursor}` +
        (prev ? ` (the last, ${quoteName(prev.name)}, ends at ${cursor})` : '') +
        '; the file has trailing bytes or the header is incomplete',
    );
  const headerLength = headerBytes.length;
  return { entries, metadata, headerLength, dataStart: 8 + headerLength, byteLength: fileSize };
}

// ---------------------------------------------------------------------------------------
// decoding

export interface DecodeOptions {
  /** Named in error messages (a path, or a label for in-memory bytes). */
  file?: string;
}

/** Validates the header at the front of `bytes` (which may hold the whole file or more). */
export function decodeSafetensorsHeader(bytes: Uint8Array, { file = DEFAULT_FILE }: DecodeOptions = {}): SafetensorsHeader {
  const n = checkHeaderLength(bytes.subarray(0, 8), bytes.length, file);
  return parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, bytes.length, file);
}

function viewOrCopy(bytes: Uint8Array, begin: number, end: number, dtype: SafetensorsDtype): SafetensorsData {
  const ctor = DTYPES[dtype];
  const size = ctor.BYTES_PER_ELEMENT;
  const length = (end - begin) / size;
  const at = bytes.byteOffset + begin;
  if (LITTLE_ENDIAN && at % size === 0) return new ctor(bytes.buffer, at, length);
  const src = bytes.subarray(begin, end);
  const copy = LITTLE_ENDIAN || size === 1 ? src.slice() : swapBytes(src, size);
  return new ctor(copy.buffer, copy.byteOffset, length);
}

/**
 * Decodes a whole safetensors file held in memory. Tensor data are views into `bytes` where
 * aligned (no copy), copies otherwise. Every structural error is a CheckpointError.
 */
export function decodeSafetensors(bytes: Uint8Array, options: DecodeOptions = {}): SafetensorsFile {
  const header = decodeSafetensorsHeader(bytes, options);
  const data = bytes.subarray(header.dataStart);
  const tensors: Record<string, RawTensor> = {};
  for (const [name, e] of Object.entries(header.entries))
    setEntry(tensors, name, {
      dtype: e.dtype,
      shape: e.shape,
      data: viewOrCopy(data, e.dataOffsets[0], e.dataOffsets[1], e.dtype),
    });
  return { tensors, metadata: header.metadata };
}

// ---------------------------------------------------------------------------------------
// files

type FileHandle = Awaited<ReturnType<typeof import('node:fs/promises').open>>;

const READ_CHUNK = 1 << 26;

async function readFully(fh: FileHandle, into: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const len = Math.min(READ_CHUNK, into.length - done);
    const { bytesRead } = await fh.read(into, done, len, position + done);
    if (bytesRead === 0)
      fail(file, `file ended at byte ${position + done} while ${into.length - done} more bytes were expected (truncated while reading?)`);
    done += bytesRead;
  }
}

async function openForRead(path: string): Promise<{ fh: FileHandle; size: number }> {
  const { fs } = await nodeModules(path);
  let fh: FileHandle;
  try {
    fh = await fs.open(path, 'r');
  } catch (e) {
    fail(path, `cannot open (${describeError(e)})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) fail(path, 'is not a regular file');
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e instanceof CheckpointError ? e : new CheckpointError(path, `cannot stat (${describeError(e)})`);
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
    if (wanted) for (const n of wanted) if (!Object.hasOwn(header.entries, n)) fail(path, `tensor '${n}' is not in the file`);
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
        fail(path, `tensor '${name}': cannot allocate ${end - begin} bytes (${describeError(e)})`);
      }
      await readFully(fh, bytes, header.dataStart + begin, path);
      hash?.update(bytes);
      if (wanted && !wanted.has(name)) continue;
      setEntry(tensors, name, { dtype: e.dtype, shape: e.shape, data: viewOrCopy(bytes, 0, bytes.length, e.dtype) });
    }
    // back to header order
    const ordered: Record<string, RawTensor> = {};
    for (const name of Object.keys(header.entries)) if (Object.hasOwn(tensors, name)) setEntry(ordered, name, tensors[name]);
    return { tensors: ordered, metadata: header.metadata, header, sha256: hash?.digest('hex') };
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------
// tf.Tensor ⇄ safetensors

/** The dtype float32 tensors are stored in. */
export type FloatStorage = 'F32' | 'F16' | 'BF16';

export interface TensorsToSafetensorsOptions {
  /** Storage for float32 tensors (int32 → I32 and bool → BOOL always). Default F32. */
  dtype?: FloatStorage;
  file?: string;
}

/**
 * Reads tensors into RawTensors (async `data()`, so GPU-resident tensors work on WebGPU).
 * float32 → F32 (or F16/BF16), int32 → I32, bool → BOOL.
 */
export async function tensorsToRaw(
  tensors: Record<string, tf.Tensor>,
  { dtype = 'F32', file = DEFAULT_FILE }: TensorsToSafetensorsOptions = {},
): Promise<Record<string, RawTensor>> {
  const out: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t instanceof tf.Tensor)) fail(file, `tensor '${name}': not a tf.Tensor`);
    if (t.isDisposed) fail(file, `tensor '${name}': has been disposed`);
    const shape = [...t.shape];
    let raw: RawTensor;
    if (t.dtype === 'float32') {
      const v = (await t.data()) as Float32Array;
      raw =
        dtype === 'F16'
          ? { dtype, shape, data: float32ToFloat16(v) }
          : dtype === 'BF16'
            ? { dtype, shape, data: float32ToBfloat16(v) }
            : { dtype: 'F32', shape, data: v };
    } else if (t.dtype === 'int32') {
      raw = { dtype: 'I32', shape, data: (await t.data()) as Int32Array };
    } else if (t.dtype === 'bool') {
      const v = (await t.data()) as Uint8Array;
      raw = { dtype: 'BOOL', shape, data: v instanceof Uint8Array ? v : Uint8Array.from(v) };
    } else {
      fail(file, `tensor '${name}': dtype ${t.dtype} cannot be stored in safetensors (float32, int32 and bool can)`);
    }
    setEntry(out, name, raw);
  }
  return out;
}

/** Encodes tf tensors as safetensors bytes. */
export async function tensorsToSafetensors(
  tensors: Record<string, tf.Tensor>,
  metadata?: Record<string, string>,
  options: TensorsToSafetensorsOptions = {},
): Promise<Uint8Array> {
  return encodeSafetensors(await tensorsToRaw(tensors, options), metadata, options);
}

interface TfValues {
  values: Float32Array | Int32Array | Uint8Array;
  dtype: 'float32' | 'int32' | 'bool';
}

function toInt32(name: string, raw: RawTensor, file: string): Int32Array {
  const src = raw.data as BigInt64Array | BigUint64Array | Uint32Array;
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v > 2147483647 || v < -2147483648)
      fail(
        file,
        `tensor '${name}' (${raw.dtype}): value ${v} at index ${i} does not fit in int32, ` +
          'the widest integer tfjs has; store it as I32 or F64 instead',
      );
    out[i] = Number(v);
  }
  return out;
}

/** The tfjs dtype and values for a RawTensor: F16/BF16/F64 → float32, integers → int32. */
function toTfValues(name: string, raw: RawTensor, file: string): TfValues {
  const d = raw.data;
  switch (raw.dtype) {
    case 'F32':
      return { values: d as Float32Array, dtype: 'float32' };
    case 'F64':
      return { values: Float32Array.from(d as Float64Array), dtype: 'float32' };
    case 'F16':
      return { values: float16ToFloat32(d as Uint16Array), dtype: 'float32' };
    case 'BF16':
      return { values: bfloat16ToFloat32(d as Uint16Array), dtype: 'float32' };
    case 'I32':
      return { values: d as Int32Array, dtype: 'int32' };
    case 'I64':
    case 'U64':
    case 'U32':
      return { values: toInt32(name, raw, file), dtype: 'int32' };
    case 'I16':
    case 'I8':
    case 'U16':
    case 'U8':
      return { values: Int32Array.from(d as Int16Array), dtype: 'int32' };
    case 'BOOL': {
      const b = d as Uint8Array;
      return { values: b.every((x) => x <= 1) ? b : b.map((x) => (x ? 1 : 0)), dtype: 'bool' };
    }
    default:
      fail(file, `tensor '${name}': unknown dtype '${String(raw.dtype)}'`);
  }
}

/**
 * RawTensors → tf tensors. All conversions (and their range checks) run before the first
 * tensor is created, so an error leaves nothing to dispose.
 */
export function rawToTensors(
  tensors: Record<string, RawTensor>,
  { file = DEFAULT_FILE }: DecodeOptions = {},
): Record<string, tf.Tensor> {
  const converted = Object.entries(tensors).map(([name, raw]) => [name, raw.shape, toTfValues(name, raw, file)] as const);
  const out: Record<string, tf.Tensor> = {};
  for (const [name, shape, { values, dtype }] of converted) setEntry(out, name, tf.tensor(values, shape, dtype));
  return out;
}

/**
 * Decodes safetensors bytes (or an already decoded file) into tf tensors and metadata. On the
 * cpu backend, F32/I32 tensors may share memory with `source`: do not modify it afterwards.
 */
export function safetensorsToTensors(
  source: Uint8Array | SafetensorsFile,
  options: DecodeOptions = {},
): { tensors: Record<string, tf.Tensor>; metadata: Record<string, string> } {
  const decoded = source instanceof Uint8Array ? decodeSafetensors(source, options) : source;
  return { tensors: rawToTensors(decoded.tensors, options), metadata: decoded.metadata };
}
