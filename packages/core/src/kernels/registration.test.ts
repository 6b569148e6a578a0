// registerWasmTrainingKernels() in every order: before the wasm package is imported, after
// the import but before tf.setBackend('wasm'), and after it.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { registerWasmTrainingKernels, WASM_REPLACED_KERNELS, WASM_TRAINING_KERNELS } from './index.js';

const MISSING = WASM_TRAINING_KERNELS.filter((k) => !WASM_REPLACED_KERNELS.includes(k));

describe('registerWasmTrainingKernels ordering', () => {
  it('before the wasm import, after it, and after setBackend', async () => {
    // 1. before '@tensorflow/tfjs-backend-wasm' is imported: everything is registered
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBeUndefined();
    expect(registerWasmTrainingKernels().sort()).toEqual([...WASM_TRAINING_KERNELS].sort());
    const ours = new Map(WASM_TRAINING_KERNELS.map((k) => [k, tf.getKernel(k, 'wasm')]));

    // 2. the import re-registers wasm's own versions of the replaced kernels (tfjs warns)
    const warn = console.warn;
    console.warn = () => {};
    try {
      await import('@tensorflow/tfjs-backend-wasm');
    } finally {
      console.warn = warn;
    }
    for (const k of MISSING) expect(tf.getKernel(k, 'wasm'), k).toBe(ours.get(k));
    for (const k of WASM_REPLACED_KERNELS) expect(tf.getKernel(k, 'wasm'), k).not.toBe(ours.get(k));

    // 3. calling again after the import puts the replacements back, and only them
    expect(registerWasmTrainingKernels().sort()).toEqual([...WASM_REPLACED_KERNELS].sort());
    for (const k of WASM_TRAINING_KERNELS) expect(tf.getKernel(k, 'wasm'), k).toBe(ours.get(k));

    // 4. after setBackend: nothing left to do, and training ops work
    expect(await tf.setBackend('wasm')).toBe(true);
    expect(registerWasmTrainingKernels()).toEqual([]);
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), 2, 2, 'valid')),
    )([x, f]);
    expect(gx.shape).toEqual(x.shape);
    expect(gf.shape).toEqual(f.shape);
    // wasm's own StridedSlice (float32 path) and Conv2DBackpropInput fallback were set up
    const s = tf.stridedSlice(tf.reshape(tf.range(0, 36), [6, 6]), [0, 1], [6, 6], [2, 2]);
    expect(Array.from(s.dataSync())).toEqual([1, 3, 5, 13, 15, 17, 25, 27, 29]);
    tf.dispose([x, f, gx, gf, s]);
  });
});
