import { CheckpointError } from '../../errors/index.js';
import { clip, preview, quoteName } from '../bounded-json.js';
import {
  DTYPES,
  MAX_HEADER_BYTES,
  METADATA_KEY,
  SAFETENSORS_DTYPES,
  checkShape,
  fail,
  isSafetensorsDtype,
  setEntry,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from './format.js';

// The strict header reader: the 8-byte length prefix, then the JSON header, validated against
// the data buffer before anything is allocated for tensors.

/** Checks the 8-byte prefix against the file size; returns N. */
export function checkHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8)
    fail(
      file,
      `file is ${fileSize} bytes, shorter than the 8-byte header length (truncated, or not a safetensors file)`,
    );
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
      if (depth + 1 > 3)
        this.fail(`header nests deeper than 3 levels (at character ${this.i}); corrupt or hostile file`);
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
        const type =
          c === 0x7b || c === 0x5b || c === 0x6e ? 'object' : c === 0x74 || c === 0x66 ? 'boolean' : 'number';
        this.fail(
          `${METADATA_KEY} entry ${quoteName(k)} must be a string, got ${type} (safetensors metadata is string → string)`,
        );
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
          const bad = (st: number): never =>
            this.fail(`${what}: data_offsets must be two integers >= 0, got ${this.preview(st)}`);
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
    if (!isSafetensorsDtype(dtype))
      this.fail(`${what}: unknown dtype ${clip(dtypeText)} (known: ${SAFETENSORS_DTYPES.join(', ')})`);
    if (shape === undefined) this.fail(`${what}: shape must be an array of integers, got undefined`);
    if (offsets === undefined) this.fail(`${what}: data_offsets must be two integers >= 0, got undefined`);
    const n = checkShape(shape, what, this.file);
    const [begin, end] = offsets as [number, number];
    if (begin > end) this.fail(`${what}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength)
      this.fail(
        `${what}: data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data buffer (truncated or corrupt)`,
      );
    const need = n * DTYPES[dtype].BYTES_PER_ELEMENT;
    if (end - begin !== need)
      this.fail(
        `${what}: shape ${preview(shape)} of ${dtype} needs ${need} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    return { dtype, shape, dataOffsets: [begin, end] };
  }
}

/**
 * Validates a header against the data buffer's length before anything is allocated for
 * tensors: JSON shape, dtypes, shapes, offsets within the buffer, byte counts, no overlaps,
 * no holes, unique names. Time and memory are linear in the header's bytes.
 */
export function parseHeader(
  headerBytes: Uint8Array,
  dataLength: number,
  fileSize: number,
  file: string,
): SafetensorsHeader {
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
      fail(
        file,
        `tensor ${quoteName(s.name)}: bytes [${cursor}, ${s.begin}) before it belong to no tensor (a hole in the data buffer)`,
      );
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
