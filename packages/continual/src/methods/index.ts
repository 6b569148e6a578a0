// The continual methods: the task-conditioned hypernetwork (hnet.ts) and the baselines that train
// the target's own weights (baseline.ts: their shared base; finetune.ts, ewc.ts, si.ts; fisher.ts;
// defaults.ts: van de Ven & Tolias's hyper-parameters).
export { HnetMethod, type HnetMethodConfig } from './hnet.js';
export { baselineDefaults, BENCHMARKS, type Benchmark, type BaselineDefaults } from './defaults.js';
export { diagonalFisher, FISHER_LABELS, type FisherLabels, type FisherOptions } from './fisher.js';
export type { BaselineConfig } from './baseline.js';
export { FinetuneMethod } from './finetune.js';
export { EwcMethod, type EwcConfig } from './ewc.js';
export { SiMethod, type SiConfig } from './si.js';
