// @hypernets/graph/internal: the pieces of graph building, GHN prediction and training that the
// CLI, the benchmarks and tests use directly; no semver promise.
export { edgesWithVirtual, levels, nodeTypeIds } from './graph.js';
export { mlpGraph, cnnGraph, resnetGraph, transformerGraph } from './describe.js';
export { shapeVocab, channelIndex, spatialIndex, shapeIndices, shapeTo4d } from './shape-encoder.js';
export type { ShapeVocab } from './shape-encoder.js';
export { batchGraphs } from './batch.js';
export type { GraphBatch, LevelPlan } from './batch.js';
export { groupSize, decoderKey, normalization } from './decode.js';
export type { Normalization } from './decode.js';
export { GHN_FORMAT, GHN3_FORMAT, configFromPpuda, configFromGhn3 } from './io.js';
export { ghnParamSpec } from './ghn3.js';
export { netInput, missingWeights, archSeed, multiStepLr } from './train/index.js';
export {
  denseGraphs,
  structureIndices,
  edgePairs,
  edgeBias,
  paddingMask,
  graphormerLayer,
  layerNorm,
  MAX_DEGREE,
  MAX_INPUT_DIST,
  EDGE_EMBED_ROWS,
} from './graphormer.js';
export type { DenseGraphs, WeightLookup } from './graphormer.js';
export { reductionCells } from './zoo/cellnet.js';
export { canonicalKey } from './zoo/sampler.js';
