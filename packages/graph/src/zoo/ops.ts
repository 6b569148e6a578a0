/**
 * Ops of DARTS-style cells with PyTorch's semantics (symmetric `padding=p`, floor mode) that
 * train on every backend: core's, re-exported here under their old place. Max pooling is
 * core's maxPoolPadded.
 */
export { avgPoolTorch, depthwiseConv2dTorch, dilateKernel } from '@hypernets/core';
export type { TorchConvOptions } from '@hypernets/core';
