// The public API of @hypernets/adapters.
export { BackboneError } from './errors.js';
export { SentencePieceTokenizer } from './tokenizer.js';
export type { VocabEntry } from './tokenizer.js';
export { UseLiteEncoder, USE_LITE_DIMS } from './backbone/use-lite.js';
export type { UseLiteConstants, UseLiteDims } from './backbone/use-lite.js';
export { UseLite, PAD_ID, USE_LITE_PACKAGE, USE_LITE_VERSION, USE_LITE_WEIGHT_NAMES } from './backbone/load.js';
