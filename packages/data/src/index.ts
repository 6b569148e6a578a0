// The public API of @hypernets/data; ./internal.ts holds what the other packages share (no semver promise).
export { DatasetError } from './errors.js';
export { parseIdx } from './idx.js';
export type { IdxArray } from './idx.js';
export { loadMnist, mnistFromIdx, imageSetFromIdx } from './mnist.js';
export type { ImageSet, Mnist, MnistFileKey } from './mnist.js';
export { ImageSplit, disposeBatch, padPermuteTransform } from './stream.js';
export type { Batch, BatchSampler, DataSplit, InputTransform, SamplerState, Task, TaskStream } from './stream.js';
export { PermutedMnist, SplitMnist } from './mnist-streams.js';
export type { PermutedMnistOptions, SplitMnistOptions } from './mnist-streams.js';
export {
  CONTINUATION_LABELS,
  TEXT_TASKS,
  TEXT_TASK_DOMAINS,
  continuationTask,
  loadBrownGenres,
  loadReuters,
  loadSotuParty,
  loadSpamAssassin,
  loadTextTask,
  loadWordnetGloss,
  parseArff,
  reutersTask,
} from './text/index.js';
export type {
  Arff,
  ArffAttribute,
  ArffLimits,
  ContinuationOptions,
  LoadTextTaskOptions,
  ReutersTopic,
  TextExample,
  TextRootKey,
  TextSource,
  TextTask,
  TextTaskName,
  TextTaskOptions,
} from './text/index.js';
export { CHAR_ALPHABET, decodeChars, encodeChars, loadCharCorpus, normalizeText8 } from './text/index.js';
export type { CharCorpus, CharCorpusOptions } from './text/index.js';
export { DOMAINBED_DATASETS, domainBedFromMnist, holdoutSplit, loadDomainBed, rotateBilinear } from './domainbed.js';
export type { DomainBedData, DomainBedDataset, DomainBedEnvironment, LoadDomainBedOptions } from './domainbed.js';
