/**
 * GHN-2's operation types (DeepNets-1M's PRIMITIVES, ppuda/deepnets1m/genotypes.py), in the
 * order of the GHN's op-embedding rows: trained checkpoints index their embedding by it.
 */
export const PRIMITIVES = [
  'max_pool',
  'avg_pool',
  'sep_conv',
  'dil_conv',
  'conv',
  'msa',
  'cse',
  'sum',
  'concat',
  'input',
  'bias',
  'bn',
  'ln',
  'pos_enc',
  'glob_avg',
] as const;

export type Primitive = (typeof PRIMITIVES)[number];
