// Tensors a gradient keeps for the backward pass: shared, not cloned — for speed.
//
// While a tape records, tfjs-core 4.22 keeps each tensor a kernel's gradient needs as
// keep(clone(x)) (Engine.saveTensorsForBackwardMode): a whole Identity dispatch, plus a tape node
// for the clone that backprop later filters out again, per saved tensor. In the hnet-step
// benchmark that is 51 of the step's 177 dispatches. On cpu, webgpu and wasm (with core's
// Identity, kernels/Identity.ts) the clone is a reference anyway: the kernel raises the data's
// refcount and returns the same data id. This does exactly that without the dispatch: a new
// Tensor on the same data id, refcount + 1, kept. The engine disposes it after backprop as before.
// Other backends (tfjs-node's, whose Identity is a TensorFlow op) keep tfjs's clone.
import * as tf from '@tensorflow/tfjs-core';

/** Backends whose Identity shares its input's data (so a shared save is what a clone would be). */
const SHARING_BACKENDS = new Set(['cpu', 'webgpu', 'wasm']);

interface EngineInternals {
  backendName: string | null;
  state: { tensorInfo: { get(dataId: tf.DataId): { backend: tf.KernelBackend } | undefined } };
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend: tf.KernelBackend): tf.Tensor;
  keep<T extends tf.Tensor>(t: T): T;
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
}

let original: ((tensors: tf.Tensor[]) => tf.Tensor[]) | null = null;

function sharedSave(this: EngineInternals, tensors: tf.Tensor[]): tf.Tensor[] {
  if (this.backendName == null || !SHARING_BACKENDS.has(this.backendName)) return original!.call(this, tensors);
  return tensors.map((x) => {
    const owner = this.state.tensorInfo.get(x.dataId)?.backend;
    // a tensor of another backend (moved lazily by tfjs): leave it to tfjs's clone
    if (owner == null || x.dtype === 'string') return original!.call(this, [x])[0]!;
    const y = this.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype }, owner);
    owner.incRef(x.dataId);
    return this.keep(y);
  });
}

/** Saves gradient inputs by reference (see above). Idempotent; `false` puts tfjs's clone back. */
export function shareSavedTensors(on = true): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (on && original == null) {
    original = engine.saveTensorsForBackwardMode;
    engine.saveTensorsForBackwardMode = sharedSave;
  } else if (!on && original != null) {
    engine.saveTensorsForBackwardMode = original;
    original = null;
  }
}
