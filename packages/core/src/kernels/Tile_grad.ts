// Gradient of Tile (tf.tile, and tf.broadcastTo, which runs Tile), replacing tfjs-core 4.22's:
// that one adds up one slice of dy per tile — Π reps slices and adds (a [1, 1, 32] tiled to
// [1, 23, 32], as a chunked hypernetwork's condition broadcast over its chunks, cost 46 kernels
// per step) — and fails for rank > 4. Here dy [r₀·s₀, r₁·s₁, …] is reshaped to
// [r₀, s₀, r₁, s₁, …] (a tile repeats the whole block, so along axis i index r·sᵢ + j is
// repetition r of entry j) and summed over the repetition axes: one reshape, one sum, any rank.
import * as tf from '@tensorflow/tfjs-core';

export const tileGradConfig: tf.GradConfig = {
  kernelName: tf.Tile,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const { reps } = attrs as unknown as { reps: number[] };
    return {
      x: () => {
        const shape: number[] = [];
        const repAxes: number[] = [];
        x.shape.forEach((s, i) => {
          if (reps[i]! > 1) {
            repAxes.push(shape.length);
            shape.push(reps[i]!);
          }
          shape.push(s);
        });
        const d = dy as tf.Tensor;
        if (repAxes.length === 0) return tf.reshape(d, x.shape);
        return tf.reshape(tf.sum(tf.reshape(d, shape), repAxes), x.shape);
      },
    };
  },
};
