/** The model zoo's names (zoo.ts builds the nets; this file imports nothing, for option parsing). */
export const ZOO_MODELS = [
  'resnet18',
  'resnet34',
  'resnet50',
  'resnet101',
  'resnet152',
  'resnet20',
  'resnet32',
  'lenet5',
  'mlp',
] as const;
export type ZooModel = (typeof ZOO_MODELS)[number];
