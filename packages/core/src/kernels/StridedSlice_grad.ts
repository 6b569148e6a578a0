// Gradient of StridedSlice. tfjs-core 4.22 registers none, so tf.grad through
// tf.stridedSlice fails on every backend. Backend-independent, and exact for every mask
// combination: the same strided slice is applied to a tensor of flat element indices,
// which tells where each dy element came from; dy is then scattered back with
// unsortedSegmentSum (itself differentiable: its gradient is a gather).
import * as tf from '@tensorflow/tfjs-core';

export const stridedSliceGradConfig: tf.GradConfig = {
  kernelName: tf.StridedSlice,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const a = attrs as unknown as tf.StridedSliceAttrs;
    return {
      x: () => {
        const n = x.size;
        const idx = tf.reshape(tf.range(0, n, 1, 'int32'), x.shape);
        // int32 indices: wasm's own StridedSlice mislabels int32 results as float32 (core
        // replaces it on wasm, see StridedSlice.ts); cast defensively for other backends.
        let from = tf.stridedSlice(
          idx,
          a.begin,
          a.end,
          a.strides,
          a.beginMask,
          a.endMask,
          a.ellipsisMask,
          a.newAxisMask,
          a.shrinkAxisMask,
        );
        if (from.dtype !== 'int32') from = tf.cast(from, 'int32');
        const g = tf.unsortedSegmentSum(tf.reshape(dy as tf.Tensor, [-1]), tf.reshape(from, [-1]) as tf.Tensor1D, n);
        return tf.reshape(g, x.shape);
      },
    };
  },
};
