// The safetensors format, split by concern: format.ts (dtypes, types, limits), float16.ts,
// encode.ts, header.ts (the strict header reader), decode.ts, file.ts (Node files), tensors.ts (tf).
export {
  SAFETENSORS_DTYPES,
  MAX_HEADER_BYTES,
  dtypeSize,
  isSafetensorsDtype,
  type SafetensorsDtype,
  type SafetensorsData,
  type RawTensor,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type SafetensorsFile,
} from './format.js';
export { float32ToFloat16, float16ToFloat32, float32ToBfloat16, bfloat16ToFloat32 } from './float16.js';
export { encodeSafetensors, encodeSafetensorsChunks, type EncodeOptions } from './encode.js';
export { MAX_RANK, MAX_METADATA_ENTRIES } from './header.js';
export { decodeSafetensors, decodeSafetensorsHeader, type DecodeOptions } from './decode.js';
export {
  readSafetensorsHeader,
  readSafetensorsFile,
  type ReadSafetensorsOptions,
  type ReadSafetensorsResult,
} from './file.js';
export {
  tensorsToRaw,
  tensorsToSafetensors,
  rawToTensors,
  safetensorsToTensors,
  type FloatStorage,
  type TensorsToSafetensorsOptions,
} from './tensors.js';
