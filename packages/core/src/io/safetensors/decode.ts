import {
  DEFAULT_FILE,
  DTYPES,
  LITTLE_ENDIAN,
  setEntry,
  swapBytes,
  type RawTensor,
  type SafetensorsData,
  type SafetensorsDtype,
  type SafetensorsFile,
  type SafetensorsHeader,
} from './format.js';
import { checkHeaderLength, parseHeader } from './header.js';

export interface DecodeOptions {
  /** Named in error messages (a path, or a label for in-memory bytes). */
  file?: string;
}

/** Validates the header at the front of `bytes` (which may hold the whole file or more). */
export function decodeSafetensorsHeader(
  bytes: Uint8Array,
  { file = DEFAULT_FILE }: DecodeOptions = {},
): SafetensorsHeader {
  const n = checkHeaderLength(bytes.subarray(0, 8), bytes.length, file);
  return parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, bytes.length, file);
}

export function viewOrCopy(bytes: Uint8Array, begin: number, end: number, dtype: SafetensorsDtype): SafetensorsData {
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
