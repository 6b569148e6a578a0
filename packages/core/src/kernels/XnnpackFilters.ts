// Conv2D, FusedConv2D, DepthwiseConv2dNative and FusedDepthwiseConv2D for tfjs-backend-wasm —
// REPLACEMENTS that delegate every call to wasm's own kernel and only note the filter's buffer.
//
// wasm's convolutions run through XNNPACK operators that pack the filter once and cache the
// packed copy by the filter's buffer id until that buffer is freed. core's native Adam
// (native-adam.ts) updates a variable in place, in the same buffer: a conv filter trained that
// way kept convolving with its first weights (measured: ERM on DomainBed's MNIST_CNN, test
// accuracy 0.22 in-process vs 0.34 from a fresh copy of the same values). A buffer noted here
// is never updated in place: native Adam leaves it to the op path, whose result is a new buffer.
import type * as tf from '@tensorflow/tfjs-core';
import { getOriginalKernel } from './originals.js';

/** Buffers (data ids) some XNNPACK operator may have packed and cached: not to be written in place. */
const cachedByXnnpack = new WeakSet<object>();

/** Whether XNNPACK may hold a packed copy of this buffer (it was a convolution's filter). */
export function cachedByXnnpackOperator(dataId: object): boolean {
  return cachedByXnnpack.has(dataId);
}

function noting(kernelName: string): tf.KernelConfig {
  const config: tf.KernelConfig = {
    kernelName,
    backendName: 'wasm',
    setupFunc: (backend) => getOriginalKernel(config)?.setupFunc?.(backend),
    kernelFunc: (args) => {
      const { filter } = args.inputs as { filter?: tf.TensorInfo };
      if (filter) cachedByXnnpack.add(filter.dataId);
      const own = getOriginalKernel(config);
      // invariant: tfjs-backend-wasm registers its convolutions before this pack replaces them (a bug here, not bad input).
      if (own == null) throw new Error(`@hypernets/core: tfjs-backend-wasm's ${kernelName} is not registered`);
      return own.kernelFunc(args) as tf.TensorInfo;
    },
  };
  return config;
}

export const conv2DConfig = noting('Conv2D');
export const fusedConv2DConfig = noting('FusedConv2D');
export const depthwiseConv2dNativeConfig = noting('DepthwiseConv2dNative');
export const fusedDepthwiseConv2DConfig = noting('FusedDepthwiseConv2D');
