export { PRIMITIVES } from './primitives.js';
export type { Primitive } from './primitives.js';
export { GraphBuilder, GraphError, edgesWithVirtual, levels, nodeTypeIds } from './graph.js';
export type { ArchGraph, GraphNode, Edge, BuildOptions } from './graph.js';
export { archGraph, mlpGraph, cnnGraph, resnetGraph, transformerGraph } from './describe.js';
export type { DescribesGraph, ResNetGraphOptions } from './describe.js';
export { layersModelGraph, layersModelParams, setLayersModelWeights } from './describe-layers.js';
export type { KerasLayerLike, KerasModelLike } from './describe-layers.js';
export { shapeVocab, channelIndex, spatialIndex, shapeIndices, shapeTo4d } from './shape-encoder.js';
export type { ShapeVocab } from './shape-encoder.js';
export { batchGraphs } from './batch.js';
export type { GraphBatch, LevelPlan } from './batch.js';
export { groupSize, decoderKey, normalization } from './decode.js';
export type { Normalization } from './decode.js';
export { GHN2 } from './ghn2.js';
export type { Ghn2Config, ResolvedGhn2Config, Prediction } from './ghn2.js';
export {
  GHN_FORMAT,
  configFromPpuda,
  ghnFromSafetensors,
  loadGhn,
  loadGhnFromBytes,
  ghnToSafetensors,
  saveGhn,
} from './io.js';
export {
  GhnTrainer,
  evaluateArchs,
  netInput,
  missingWeights,
  archSeed,
  multiStepLr,
} from './train/index.js';
export type {
  ArchSample,
  ArchSource,
  GhnTrainerOptions,
  GhnTrainEvent,
  GhnCurvePoint,
  GhnTrainResult,
  EvaluateArchsOptions,
  ArchEvaluation,
  ArchsEvaluation,
} from './train/index.js';
export { SmallNetFamily, fixedSource, archSample } from './sources.js';
export type { SmallNetFamilyOptions, SmallNetKind } from './sources.js';
export { GHN3, ghnParamSpec } from './ghn3.js';
export type { Ghn3Config, ResolvedGhn3Config } from './ghn3.js';
export { LoGAH } from './logah.js';
export type { LogahConfig, ResolvedLogahConfig } from './logah.js';
export { GHN3_FORMAT, configFromGhn3 } from './io.js';
export {
  denseGraphs,
  structureIndices,
  edgePairs,
  edgeBias,
  paddingMask,
  graphormerLayer,
  layerNorm,
  gelu,
  MAX_DEGREE,
  MAX_INPUT_DIST,
  EDGE_EMBED_ROWS,
} from './graphormer.js';
export type { DenseGraphs, WeightLookup } from './graphormer.js';
export { CellNet, CELL_OPS, reductionCells } from './zoo/cellnet.js';
export type { CellNetConfig, ResolvedCellNetConfig, CellOp, CellEdge, Genotype } from './zoo/cellnet.js';
export { ArchSampler, ARCH_FAMILIES, SPLITS, canonicalKey } from './zoo/sampler.js';
export type {
  ArchSamplerConfig,
  ArchFamily,
  SplitName,
  IntRange,
  ArchSpec,
  ArchInfo,
  SampledArch,
  SplitRanges,
} from './zoo/sampler.js';
export { depthwiseConv2dTorch, dilateKernel, avgPoolTorch } from './zoo/ops.js';
export type { TorchConvOptions } from './zoo/ops.js';
