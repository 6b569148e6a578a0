// Identity and Cast for tfjs-backend-wasm — REPLACEMENTS, for speed.
//
// tfjs-backend-wasm 4.22's Identity copies its input into a new heap buffer, and so does its
// Cast when the dtype does not change. tfjs-core calls Identity for every tensor a gradient
// saves while a tape records (engine.saveTensorsForBackwardMode: keep(clone(x))), and every
// Multiply gradient casts both inputs to float32: a training step copies each activation it
// keeps. In the Permuted-MNIST hypernetwork step (5 past tasks) that was 129 copies, 122 ms of
// 1,125 ms (tf.profile, 2 cores, Node 20). Tensors are immutable and Variable.assign swaps
// data ids rather than writing in place, so — as tfjs-backend-cpu does and as wasm's own
// Reshape does — ours shares the input's data id (refcount + 1) instead of copying.
// Casts to bool are done here too: wasm's copies the values into bytes (int32 2 → 2, -1 → 255,
// float32 0.5 → 0) where cpu and TensorFlow give x ≠ 0. Other dtype changes and string tensors go
// to wasm's own kernels.
import * as tf from '@tensorflow/tfjs-core';
import { getOriginalKernel } from './originals.js';
import { asWasmBackend } from './wasm_util.js';

/** tfjs-backend-wasm's own Identity (string tensors go to it). */
const wasmIdentity = () => getOriginalKernel(identityConfig);

/** tfjs-backend-wasm's own Cast (dtype changes go to it). */
const wasmCast = () => getOriginalKernel(castConfig);

interface RefCounting {
  incRef(dataId: tf.DataId): void;
}

function share(backend: unknown, x: tf.TensorInfo): tf.TensorInfo {
  (backend as RefCounting).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') {
      // invariant: tfjs-backend-wasm registers Identity before this pack replaces it (a bug here, not bad input).
      if (wasmIdentity() == null) throw new Error("@hypernets/core: tfjs-backend-wasm's Identity is not registered");
      return wasmIdentity()!.kernelFunc(args);
    }
    return share(args.backend, x);
  },
};

export const castConfig: tf.KernelConfig = {
  kernelName: tf.Cast,
  backendName: 'wasm',
  setupFunc: (backend) => wasmCast()?.setupFunc?.(backend),
  kernelFunc: (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { dtype } = args.attrs as unknown as tf.CastAttrs;
    if (dtype === x.dtype && x.dtype !== 'string') return share(args.backend, x);
    if (dtype === 'bool' && (x.dtype === 'int32' || x.dtype === 'float32')) {
      const backend = asWasmBackend(args.backend, 'Cast');
      const out = backend.makeOutput([...x.shape], 'bool');
      const src = backend.typedArrayFromHeap(x); // views after makeOutput (it may grow memory)
      const dst = backend.typedArrayFromHeap(out);
      for (let i = 0; i < dst.length; i++) dst[i] = src[i] !== 0 ? 1 : 0; // NaN ≠ 0: true, as cpu
      return out;
    }
    // invariant: tfjs-backend-wasm registers Cast before this pack replaces it (a bug here, not bad input).
    if (wasmCast() == null) throw new Error("@hypernets/core: tfjs-backend-wasm's Cast is not registered");
    return wasmCast()!.kernelFunc(args);
  },
};
