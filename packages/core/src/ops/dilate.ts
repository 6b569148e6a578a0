import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';

/**
 * A conv kernel [kh, kw, a, b] (or per-sample [B, kh, kw, a, b]) with d − 1 zeros between its
 * taps along each spatial axis: [(kh−1)·dh+1, (kw−1)·dw+1, a, b]. An undilated conv with it
 * equals the dilated conv with the original kernel. Built from pad, reshape and slice, so it
 * has a gradient on every backend (tfjs-core's depthwiseConv2d gradient rejects dilations > 1,
 * and per-sample kernels have no dilated path at all). `dilation` 1 returns w itself.
 */
export function dilateKernel(w: tf.Tensor4D, dilation: number | readonly [number, number]): tf.Tensor4D;
export function dilateKernel(w: tf.Tensor, dilation: number | readonly [number, number]): tf.Tensor;
export function dilateKernel(w: tf.Tensor, dilation: number | readonly [number, number]): tf.Tensor {
  const [dh, dw] = typeof dilation === 'number' ? [dilation, dilation] : dilation;
  for (const d of [dh, dw])
    if (!Number.isInteger(d) || d < 1) throw new ConfigError('dilation', `must be a positive integer, got ${d}`);
  if (w.rank !== 4 && w.rank !== 5)
    throw new ShapeMismatchError(
      'conv kernel',
      [-1, -1, -1, -1],
      w.shape,
      'pass [kh, kw, in, out] (or per-sample [B, kh, kw, in, out])',
    );
  if (dh === 1 && dw === 1) return w;
  const off = w.rank - 4; // 1 for per-sample kernels
  return tf.tidy(() => {
    let k = w;
    if (dh > 1) k = dilateAxis(k, off, dh);
    if (dw > 1) k = dilateAxis(k, off + 1, dw);
    return k;
  });
}

/** Inserts d − 1 zeros after every element along `axis`, the trailing ones cut off. */
function dilateAxis(k: tf.Tensor, axis: number, d: number): tf.Tensor {
  const shape = k.shape;
  const n = shape[axis]!;
  const pads: [number, number][] = shape.map(() => [0, 0]);
  pads.splice(axis + 1, 0, [0, d - 1]);
  const merged = tf.reshape(tf.pad(tf.expandDims(k, axis + 1), pads), [
    ...shape.slice(0, axis),
    n * d,
    ...shape.slice(axis + 1),
  ]);
  const size = [...merged.shape];
  size[axis] = (n - 1) * d + 1;
  return tf.slice(merged, new Array(size.length).fill(0), size);
}
