import {
  MLP,
  lenet5,
  resnet101,
  resnet152,
  resnet18,
  resnet20,
  resnet32,
  resnet34,
  resnet50,
  type TargetNet,
} from '@hypernets/core';

/**
 * The model zoo of `hypernets ghn predict / eval`: torchvision's ImageNet ResNets (core's
 * ImageNetResNet, torchvision parameter names), the CIFAR ResNets of He et al. (option-A
 * shortcuts), LeNet-5 and an MNIST MLP 784-256-128-10 (parameters fc1…fc3).
 */
export { ZOO_MODELS, type ZooModel } from './zoo-names.js';
import type { ZooModel } from './zoo-names.js';

export interface ZooOptions {
  numClasses: number;
  /**
   * Images the net takes, [H, W, C]. Default: the model's own (ImageNet 224×224×3, CIFAR
   * 32×32×3, MNIST 28×28×1). LeNet-5 and the MLP always take MNIST.
   */
  inputShape?: readonly [number, number, number];
}

export function zooNet(name: ZooModel, o: ZooOptions): TargetNet {
  const imagenet = { numClasses: o.numClasses, ...(o.inputShape ? { inputShape: o.inputShape } : {}) };
  switch (name) {
    case 'resnet18':
      return resnet18(imagenet);
    case 'resnet34':
      return resnet34(imagenet);
    case 'resnet50':
      return resnet50(imagenet);
    case 'resnet101':
      return resnet101(imagenet);
    case 'resnet152':
      return resnet152(imagenet);
    case 'resnet20':
      return resnet20(imagenet);
    case 'resnet32':
      return resnet32(imagenet);
    case 'lenet5':
      return lenet5({ outputSize: o.numClasses });
    case 'mlp':
      return new MLP({ inputSize: 784, hiddenSizes: [256, 128], outputSize: o.numClasses });
  }
}
