// The public API of @hypernets/graph; what the CLI, the benchmarks and tests share beyond it is
// in ./internal.ts (`@hypernets/graph/internal`, no semver promise).

// architectures as graphs
export { PRIMITIVES } from './primitives.js';
export type { Primitive } from './primitives.js';
export { GraphBuilder, GraphError } from './graph.js';
export type { ArchGraph, GraphNode, Edge, BuildOptions } from './graph.js';
export { archGraph } from './describe.js';
export type { DescribesGraph, ResNetGraphOptions } from './describe.js';
export { layersModelGraph, layersModelParams, setLayersModelWeights } from './describe-layers.js';
export type { KerasLayerLike, KerasModelLike } from './describe-layers.js';

// graph hypernetworks and their files
export { GHN2 } from './ghn2.js';
export type { Ghn2Config, ResolvedGhn2Config, Prediction } from './ghn2.js';
export { GHN3 } from './ghn3.js';
export type { Ghn3Config, ResolvedGhn3Config } from './ghn3.js';
export { LoGAH } from './logah.js';
export type { LogahConfig, ResolvedLogahConfig } from './logah.js';
export { ghnFromSafetensors, loadGhn, loadGhnFromBytes, ghnToSafetensors, saveGhn } from './io.js';

// meta-training and evaluation
export { GhnTrainer, evaluateArchs } from './train/index.js';
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

// DeepNets-1M-style architectures
export { CellNet, CELL_OPS } from './zoo/cellnet.js';
export type { CellNetConfig, ResolvedCellNetConfig, CellOp, CellEdge, Genotype } from './zoo/cellnet.js';
export { ArchSampler, ARCH_FAMILIES, SPLITS } from './zoo/sampler.js';
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
