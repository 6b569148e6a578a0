export { MLP, denseSpecs, ACTIVATIONS } from './mlp.js';
export { checkPositiveInt } from './validate.js';
export type { MLPConfig } from './mlp.js';
export { CNN, lenet5, haMnist } from './cnn.js';
export type { CNNConfig, ConvLayerConfig, LeNetOptions } from './cnn.js';
export { ResNet, resnet20, resnet32, zeroPadShortcut } from './resnet.js';
export type { ResNetConfig, ShortcutOption } from './resnet.js';
export { ImageNetResNet, resnet18, resnet34, resnet50, resnet101, resnet152 } from './resnet-imagenet.js';
export type { ImageNetResNetConfig, ImageNetResNetOptions, ResNetBlockType } from './resnet-imagenet.js';
export { SimpleRNN, LSTM } from './rnn.js';
export type { RecurrentConfig, ResolvedRecurrentConfig, RecurrentOutput } from './rnn.js';
export { TransformerEncoder, sinusoidalPositions } from './transformer.js';
export { DomainBedMnistCnn } from './domainbed-cnn.js';
export type { DomainBedMnistCnnConfig } from './domainbed-cnn.js';
export type {
  TransformerEncoderConfig,
  ResolvedTransformerEncoderConfig,
  TransformerPooling,
  FeedForwardSublayer,
} from './transformer.js';
