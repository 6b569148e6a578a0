// Adam in one pass per variable, in place on the wasm heap, by @hypernets/native (when
// initBackend loaded it): ~13 element-wise kernels and 3 new buffers per variable become one
// loop over x, m and v. Bit for bit the op path's result (the addon rounds each operation to
// float32 in the same order, without fused multiply-adds). In place is safe only where nothing
// else shares a buffer: each of x, m, v must be the wasm backend's, float32, and held by one
// tensor (backend refCount 1), and not a buffer a convolution used as its filter (XNNPACK caches
// a packed copy by buffer: XnnpackFilters.ts); otherwise the caller takes the op path. When native
// products are on, no product goes through XNNPACK, whose cache keyed by buffer would not see the change.
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernels, type AdamConstants } from './native-gemm.js';
import { cachedByXnnpackOperator } from './XnnpackFilters.js';

interface WasmHeapBackend {
  refCount(dataId: object): number;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/**
 * One Adam step for variable x (gradient g, moments m, v) in place, when the native kernels are
 * on and every operand qualifies; false (nothing changed) otherwise.
 */
export function nativeAdamStep(
  x: tf.Variable,
  g: tf.Tensor,
  m: tf.Variable,
  v: tf.Variable,
  c: AdamConstants,
): boolean {
  const k = nativeKernels();
  if (!k || tf.getBackend() !== 'wasm') return false;
  const backend = tf.backend() as unknown as WasmHeapBackend;
  const info = (tf.engine() as unknown as { state: { tensorInfo: WeakMap<object, { backend: unknown }> } }).state
    .tensorInfo;
  const n = x.size;
  for (const t of [x, g, m, v]) {
    if (t.dtype !== 'float32' || t.size !== n || t.isDisposed || info.get(t.dataId)?.backend !== backend) return false;
  }
  for (const t of [x, m, v]) if (backend.refCount(t.dataId) !== 1) return false;
  // A convolution's filter: XNNPACK keeps a packed copy keyed by this buffer (XnnpackFilters.ts).
  if (cachedByXnnpackOperator(x.dataId)) return false;
  if (n === 0) return true;
  const [X, G, M, V] = [x, g, m, v].map((t) => backend.typedArrayFromHeap(t));
  if (!(X!.buffer instanceof ArrayBuffer)) return false; // threaded wasm's shared memory: the op path
  k.adamStep(X!.buffer as ArrayBuffer, {
    n,
    xOffset: X!.byteOffset / 4,
    gOffset: G!.byteOffset / 4,
    mOffset: M!.byteOffset / 4,
    vOffset: V!.byteOffset / 4,
    ...c,
  });
  return true;
}
