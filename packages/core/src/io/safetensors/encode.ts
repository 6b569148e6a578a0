import { quoteName } from '../bounded-json.js';
import {
  DEFAULT_FILE,
  DTYPES,
  LITTLE_ENDIAN,
  MAX_HEADER_BYTES,
  METADATA_KEY,
  SAFETENSORS_DTYPES,
  checkShape,
  fail,
  isSafetensorsDtype,
  swapBytes,
  type RawTensor,
  type SafetensorsData,
  type SafetensorsDtype,
} from './format.js';

export interface EncodeOptions {
  /** Named in error messages. */
  file?: string;
}

function checkMetadata(metadata: unknown, file: string): Record<string, string> {
  if (metadata === undefined) return {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    fail(file, `${METADATA_KEY} must be an object of string values`);
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string')
      fail(
        file,
        `${METADATA_KEY} entry ${quoteName(k)} must be a string, got ${typeof v} (safetensors metadata is string → string)`,
      );
  return metadata as Record<string, string>;
}

function dataBytes(data: SafetensorsData, size: number): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return LITTLE_ENDIAN || size === 1 ? bytes : swapBytes(bytes, size);
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
      fail(
        file,
        `${what}: dtype ${t.dtype} needs its data in a ${ctor.name}, got ${Object.prototype.toString.call(t.data)}`,
      );
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
