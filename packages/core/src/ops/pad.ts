import * as tf from '@tensorflow/tfjs-core';

/** Symmetric padding p of the spatial axes of NHWC x (PyTorch `padding=p`); p = 0 returns x. */
export function padSpatial(x: tf.Tensor4D, p: number, value = 0): tf.Tensor4D {
  if (p === 0) return x;
  return tf.pad(
    x,
    [
      [0, 0],
      [p, p],
      [p, p],
      [0, 0],
    ],
    value,
  );
}
