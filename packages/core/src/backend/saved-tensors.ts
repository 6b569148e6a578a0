// Tensors a gradient keeps for the backward pass: shared, not cloned — for speed.
//
// While a tape records, tfjs-core 4.22 keeps each tensor a gradient needs as keep(clone(x)), where
// Engine.clone is a whole Identity dispatch plus a tape node for the clone that backprop then
// filters out again. Both of tfjs's save paths call it — a registered kernel's inputs and outputs
// (saveTensorsForBackwardMode) and a tf.customGrad's save() — and nothing else does (tfjs's public
// tf.clone dispatches Identity itself). In the hnet-step benchmark that is 52 of the step's 177
// dispatches. On cpu, webgpu and wasm (with core's Identity, kernels/Identity.ts) the clone is a
// reference anyway: the kernel raises the data's refcount and returns the same data id. This does
// exactly that without the dispatch or the dead tape node: a new Tensor on the same data id,
// refcount + 1. The engine keeps it and disposes it after backprop as before. Other backends
// (tfjs-node's, whose Identity is a TensorFlow op) keep tfjs's clone.
import * as tf from '@tensorflow/tfjs-core';

/** Backends whose Identity shares its input's data (so a shared save is what a clone would be). */
const SHARING_BACKENDS = new Set(['cpu', 'webgpu', 'wasm']);

interface EngineInternals {
  backendName: string | null;
  state: { tensorInfo: { get(dataId: tf.DataId): { backend: tf.KernelBackend } | undefined } };
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend: tf.KernelBackend): tf.Tensor;
  clone(x: tf.Tensor): tf.Tensor;
}

let original: ((x: tf.Tensor) => tf.Tensor) | null = null;

function sharedClone(this: EngineInternals, x: tf.Tensor): tf.Tensor {
  const owner = this.state.tensorInfo.get(x.dataId)?.backend;
  // another backend's tensor (tfjs moves data lazily), strings, or a backend that copies: tfjs's clone
  if (owner == null || x.dtype === 'string' || this.backendName == null || !SHARING_BACKENDS.has(this.backendName))
    return original!.call(this, x);
  const y = this.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype }, owner);
  owner.incRef(x.dataId);
  return y;
}

/** Saves gradient inputs by reference (see above). Idempotent; `false` puts tfjs's clone back. */
export function shareSavedTensors(on = true): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (on && original == null) {
    original = engine.clone;
    engine.clone = sharedClone;
  } else if (!on && original != null) {
    engine.clone = original;
    original = null;
  }
}
