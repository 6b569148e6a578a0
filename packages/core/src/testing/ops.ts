import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random.js';
import { depthwiseConv2dTorch } from '../ops/depthwise-conv.js';

/**
 * Largest relative difference between depthwiseConv2dTorch's gradients (x and w, undilated)
 * and those of tfjs's own tf.depthwiseConv2d on the explicitly padded input.
 */
export function gradientGap(
  rng: Rng,
  shape: [number, number, number, number],
  k: number,
  stride: number,
  padding: number,
): number {
  return tf.tidy(() => {
    const x = rng.normal(shape);
    const w = rng.normal([k, k, shape[3], 1]);
    const r = rng.normal(depthwiseConv2dTorch(x, w, { stride, padding }).shape);
    const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(depthwiseConv2dTorch(a, b, { stride, padding }), r)),
    )([x, w]);
    const pad = (a: tf.Tensor) =>
      tf.pad(a as tf.Tensor4D, [
        [0, 0],
        [padding, padding],
        [padding, padding],
        [0, 0],
      ]);
    const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.depthwiseConv2d(pad(a), b as tf.Tensor4D, stride, 'valid'), r)),
    )([x, w]);
    return Math.max(
      ...ours.map((g, i) => tf.div(tf.max(tf.abs(tf.sub(g, ref[i]!))), tf.max(tf.abs(ref[i]!))).dataSync()[0]!),
    );
  });
}
