import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { convGeometry } from './conv.js';
import { padSpatial } from './pad.js';

export interface PoolOptions {
  type: 'max' | 'avg';
  /** Window size (square). */
  size: number;
  /** Default: equal to size. */
  stride?: number;
  /** Default 'valid'. */
  padding?: 'same' | 'valid';
}

/** Max or average pooling (no weights; per-sample weights change nothing here). */
export function pool2d(x: tf.Tensor, options: PoolOptions): tf.Tensor4D {
  if (x.rank !== 4) throw new ShapeMismatchError('pool2d input (NHWC)', [x.shape[0] ?? -1, -1, -1, -1], x.shape);
  const x4 = x as tf.Tensor4D;
  const stride = options.stride ?? options.size;
  const padding = options.padding ?? 'valid';
  convGeometry(x4.shape[1], x4.shape[2], options.size, stride, padding, 'pool2d');
  return options.type === 'max'
    ? tf.maxPool(x4, options.size, stride, padding)
    : tf.avgPool(x4, options.size, stride, padding);
}

/** Mean over the spatial axes: [N, H, W, C] → [N, C]. */
export function globalAvgPool(x: tf.Tensor): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

/**
 * x[:, ::2, ::2, :] (PyTorch slicing) through reshape + slice, which have gradients on every
 * backend (StridedSlice has none). Odd sizes get one zero row/column first; it is never kept.
 */
export function subsample2(x: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const h2 = Math.ceil(h / 2);
    const w2 = Math.ceil(w / 2);
    let xp = x as tf.Tensor4D;
    if (h % 2 || w % 2)
      xp = tf.pad(xp, [
        [0, 0],
        [0, h % 2],
        [0, w % 2],
        [0, 0],
      ]);
    const blocks = tf.reshape(xp, [n, h2, 2, w2, 2, c]);
    return tf.reshape(tf.slice(blocks, [0, 0, 0, 0, 0, 0], [n, h2, 1, w2, 1, c]), [n, h2, w2, c]) as tf.Tensor4D;
  });
}

/**
 * Max pooling with PyTorch's `padding=p` (nn.MaxPool2d, floor mode): the input is padded by p
 * on every side with −∞, so padded cells never win a window, then pooled 'valid'. Output
 * ⌊(H + 2p − size) / stride⌋ + 1. pool2d offers only 'same'/'valid' (tfjs 'same' pads after
 * only on even sizes, shifting every window by one against PyTorch); tf.maxPool's numeric pad
 * is not taken because tfjs-node's kernel rejects explicit padding, and wasm's MaxPool
 * (XNNPACK) runs out of bounds when a padding is ≥ the window — here the kernel never sees
 * any padding. p must be at most size / 2 (as PyTorch requires), so no window is all padding.
 */
export function maxPoolPadded(x: tf.Tensor, size: number, stride: number, padding: number): tf.Tensor4D {
  if (x.rank !== 4) throw new ShapeMismatchError('maxPoolPadded input (NHWC)', [x.shape[0] ?? -1, -1, -1, -1], x.shape);
  if (!(Number.isInteger(padding) && padding >= 0 && 2 * padding <= size))
    throw new ConfigError(
      'maxPoolPadded',
      `padding must be an integer in [0, size / 2] (PyTorch's rule), got ${padding} for a ${size}x${size} window`,
    );
  const x4 = x as tf.Tensor4D;
  convGeometry(x4.shape[1], x4.shape[2], size, stride, padding, 'maxPoolPadded');
  return tf.tidy(() => {
    const xp =
      padding === 0
        ? x4
        : tf.pad(
            x4,
            [
              [0, 0],
              [padding, padding],
              [padding, padding],
              [0, 0],
            ],
            -Infinity,
          );
    return tf.maxPool(xp, size, stride, 'valid');
  });
}

const countCache = new Map<string, Float32Array>();

/**
 * Average pooling as PyTorch's nn.AvgPool2d(size, stride, padding, count_include_pad=False):
 * zero-pad, average 'valid', rescale each output by window / (cells of the window inside the
 * input). Backend independent (kernels differ in how they count padding).
 */
export function avgPoolTorch(x: tf.Tensor, size: number, stride: number, padding: number): tf.Tensor4D {
  if (x.rank !== 4) throw new ShapeMismatchError('avg pool input (NHWC)', [x.shape[0] ?? -1, -1, -1, -1], x.shape);
  if (!(Number.isInteger(padding) && padding >= 0 && 2 * padding <= size))
    throw new ConfigError(
      'padding',
      `must be an integer in [0, size / 2] (PyTorch's rule), got ${padding} for a ${size}x${size} window`,
    );
  const [, h, w] = x.shape as number[];
  const { outH, outW } = convGeometry(h!, w!, size, stride, padding, 'avg pool');
  return tf.tidy(() => {
    const y = tf.avgPool(padSpatial(x as tf.Tensor4D, padding), size, stride, 'valid');
    if (padding === 0) return y;
    const key = [h, w, size, stride, padding].join(',');
    let scale = countCache.get(key);
    if (!scale) {
      scale = new Float32Array(outH * outW);
      const inside = (o: number, n: number) =>
        Math.min(o * stride - padding + size, n) - Math.max(o * stride - padding, 0);
      for (let i = 0; i < outH; i++)
        for (let j = 0; j < outW; j++) scale[i * outW + j] = (size * size) / (inside(i, h!) * inside(j, w!));
      if (countCache.size > 64) countCache.clear();
      countCache.set(key, scale);
    }
    return tf.mul(y, tf.tensor4d(scale, [1, outH, outW, 1])) as tf.Tensor4D;
  });
}
