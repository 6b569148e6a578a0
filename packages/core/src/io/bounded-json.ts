import { z } from 'zod';
import { CheckpointError } from '../errors/index.js';

/**
 * JSON from files that may be hostile (safetensors headers, checkpoint.json, tfjs model.json).
 *
 * `JSON.parse` itself is iterative, but what it builds is not bounded by anything but memory:
 * `[{},{},…]` costs ~20 times its bytes, and deep nesting later overflows the stack of anything
 * recursive (JSON.stringify, a schema, an error message). So before parsing, one pass over the
 * raw bytes (no allocation) checks the nesting depth, the number of objects and arrays, and
 * string lengths; what passes costs at most a small multiple of its bytes to parse. After
 * parsing, validators that stop at the first bad array item (`arrayOf`, `intArray`) keep a
 * schema from collecting one issue per element, and `preview` keeps error messages short.
 */

export interface JsonLimits {
  /** Deepest nesting of objects and arrays (a top-level object is depth 1). */
  maxDepth: number;
  /** Most objects and arrays in the text. Default: `4096 + bytes / 8`. */
  maxContainers?: number;
  /** Longest string literal (key or value), in bytes as written. Default: no limit. */
  maxStringBytes?: number;
}

/** Nesting allowed in checkpoint.json and model.json; writers check it too, so what they write reads back. */
export const MAX_JSON_DEPTH = 128;

/** What the scan found (for callers that bound their own work further). */
export interface JsonScan {
  depth: number;
  containers: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** `cause`: the error this one wraps, when a catch rethrows. */
function fail(file: string, detail: string, cause?: unknown): never {
  throw new CheckpointError(file, detail, cause === undefined ? undefined : { cause });
}

/** The default container budget for `bytes` of JSON: empty `[]`/`{}` cost ~40 bytes each in V8. */
export function defaultMaxContainers(bytes: number): number {
  return 4096 + Math.floor(bytes / 8);
}

/**
 * One pass over raw JSON bytes (UTF-8: quotes and backslashes never occur inside multi-byte
 * characters) that enforces `limits` without building anything. It does not check syntax:
 * `JSON.parse` does that afterwards. Throws a CheckpointError naming `what` and the byte.
 */
export function scanJson(bytes: Uint8Array, limits: JsonLimits, file: string, what: string): JsonScan {
  const n = bytes.length;
  const maxContainers = limits.maxContainers ?? defaultMaxContainers(n);
  const maxString = limits.maxStringBytes ?? Infinity;
  let depth = 0;
  let maxDepth = 0;
  let containers = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      // find the closing quote: one preceded by an even run of backslashes
      let j = bytes.indexOf(QUOTE, i + 1);
      for (;;) {
        if (j < 0) fail(file, `${what} is not valid JSON (unterminated string at byte ${i})`);
        let k = j - 1;
        while (k > i && bytes[k] === BACKSLASH) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j = bytes.indexOf(QUOTE, j + 1);
      }
      if (j - i - 1 > maxString)
        fail(file, `${what} has a ${j - i - 1}-byte string at byte ${i}, over the ${maxString}-byte limit`);
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limits.maxDepth)
        fail(file, `${what} nests deeper than ${limits.maxDepth} levels (at byte ${i}); corrupt or hostile file`);
      if (depth > maxDepth) maxDepth = depth;
      if (++containers > maxContainers)
        fail(
          file,
          `${what} holds more than ${maxContainers} objects and arrays in ${n} bytes (at byte ${i}); corrupt or hostile file`,
        );
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return { depth: maxDepth, containers };
}

/** Shortens a message from JSON.parse or TextDecoder (some quote the input). */
export function clip(s: string, max = 120): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

/**
 * Decodes and parses JSON bytes after `scanJson` has bounded what parsing them can cost.
 * Every failure (limits, UTF-8, syntax) is a CheckpointError naming `file` and `what`.
 */
export function parseBoundedJson(bytes: Uint8Array, limits: JsonLimits, file: string, what: string): unknown {
  let text: string;
  try {
    // a string of at most 2 bytes per byte: bounded, and UTF-8 errors are named before syntax
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    fail(file, `${what} is not valid UTF-8 (${clip((e as Error).message)})`, e);
  }
  scanJson(bytes, limits, file, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    fail(file, `${what} is not valid JSON (${clip((e as Error).message)})`, e);
  }
}

/**
 * A short JSON-like rendering of any value for error messages: at most about `max` characters,
 * at most a few levels deep, never walking more of the value than it prints.
 */
export function preview(value: unknown, max = 80): string {
  let out = '';
  const full = () => out.length > max;
  const walk = (v: unknown, depth: number): void => {
    if (full()) return;
    if (typeof v === 'string') {
      out += JSON.stringify(v.length > max ? v.slice(0, max) : v);
      return;
    }
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) {
      out += String(v);
      return;
    }
    if (typeof v === 'bigint') {
      out += `${v}n`;
      return;
    }
    if (typeof v !== 'object') {
      out += typeof v;
      return;
    }
    const isArray = Array.isArray(v);
    if (depth >= 4) {
      out += isArray ? '[…]' : '{…}';
      return;
    }
    out += isArray ? '[' : '{';
    let first = true;
    if (isArray) {
      for (let i = 0; i < v.length && !full(); i++) {
        if (!first) out += ',';
        first = false;
        walk(v[i], depth + 1);
      }
    } else {
      for (const k in v as object) {
        if (full()) break;
        if (!Object.hasOwn(v as object, k)) continue;
        if (!first) out += ',';
        first = false;
        out += `${JSON.stringify(k.length > max ? k.slice(0, max) : k)}:`;
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
    }
    out += isArray ? ']' : '}';
  };
  walk(value, 0);
  return clip(out, max);
}

/** A name from a file, quoted and shortened for a message. */
export function quoteName(name: string, max = 80): string {
  return `'${clip(name, max)}'`;
}

// ---------------------------------------------------------------------------------------
// schemas that stop at the first bad element

/** Whether v is an array of at least `min` elements; adds zod's usual issue when not. */
function isArrayOfAtLeast(v: unknown, min: number, ctx: z.RefinementCtx): v is unknown[] {
  if (!Array.isArray(v)) {
    ctx.addIssue({ code: z.ZodIssueCode.invalid_type, expected: z.ZodParsedType.array, received: z.getParsedType(v) });
    return false;
  }
  if (v.length < min) {
    ctx.addIssue({ code: z.ZodIssueCode.too_small, type: 'array', minimum: min, inclusive: true, exact: false });
    return false;
  }
  return true;
}

/**
 * `z.array(item)`, except that it stops at the first bad element: zod's own arrays validate every
 * element and collect an issue for each (`[{},{},…]` in 1 MB of JSON makes millions of issues).
 */
export function arrayOf<T extends z.ZodTypeAny>(item: T, { min = 0 }: { min?: number } = {}) {
  return z.unknown().transform((v, ctx): z.output<T>[] => {
    if (!isArrayOfAtLeast(v, min, ctx)) return z.NEVER;
    const out: z.output<T>[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const r = item.safeParse(v[i]);
      if (!r.success) {
        const issue = r.error.issues[0];
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: issue.message, path: [i, ...issue.path] });
        return z.NEVER;
      }
      out[i] = r.data;
    }
    return out;
  });
}

/** An array of safe integers (optionally >= 0), checked in a plain loop that stops at the first bad one. */
export function intArray({ min = 0, nonnegative = false }: { min?: number; nonnegative?: boolean } = {}) {
  return z.unknown().transform((v, ctx): number[] => {
    if (!isArrayOfAtLeast(v, min, ctx)) return z.NEVER;
    for (let i = 0; i < v.length; i++) {
      const x = v[i] as unknown;
      if (!Number.isSafeInteger(x) || (nonnegative && (x as number) < 0)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `Expected ${nonnegative ? 'an integer >= 0' : 'an integer'}, received ${preview(x, 40)}`,
          path: [i],
        });
        return z.NEVER;
      }
    }
    return v as number[];
  });
}
