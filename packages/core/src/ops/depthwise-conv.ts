import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { convGeometry } from './conv.js';
import { dilateKernel } from './dilate.js';
import { padSpatial } from './pad.js';

/**
 * Depthwise conv with PyTorch's semantics (symmetric `padding=p`, floor mode) that trains on
 * every backend (DARTS-style cells).
 */

export interface TorchConvOptions {
  /** Default 1. */
  stride?: number;
  /** Zero padding on every side (PyTorch `padding=p`). Default 0. */
  padding?: number;
  /** Default 1. */
  dilation?: number;
}

/**
 * Depthwise conv (PyTorch's Conv2d with groups = C) on NHWC input: x [N, H, W, C], w [kh, kw, C, m]
 * → [N, H', W', C·m], H' = ⌊(H + 2p − d(kh − 1) − 1) / s⌋ + 1. Dilation through dilateKernel,
 * padding through tf.pad, so the native kernel only sees stride, 'valid' and dilation 1 — and
 * the op has gradients on every backend (see depthwiseValid).
 */
export function depthwiseConv2dTorch(x: tf.Tensor, w: tf.Tensor, options: TorchConvOptions = {}): tf.Tensor4D {
  const stride = options.stride ?? 1;
  const padding = options.padding ?? 0;
  const dilation = options.dilation ?? 1;
  if (x.rank !== 4)
    throw new ShapeMismatchError('depthwise conv input (NHWC)', [x.shape[0] ?? -1, -1, -1, -1], x.shape);
  if (w.rank !== 4 || w.shape[2] !== x.shape[3])
    throw new ShapeMismatchError(
      'depthwise kernel',
      [w.shape[0] ?? -1, w.shape[1] ?? -1, x.shape[3]!, w.shape[3] ?? 1],
      w.shape,
      'pass [kh, kw, C, multiplier] with C the input channels',
    );
  if (!Number.isInteger(padding) || padding < 0)
    throw new ConfigError('padding', `must be a non-negative integer, got ${padding}`);
  const [kh, kw] = w.shape as number[];
  convGeometry(
    x.shape[1]!,
    x.shape[2]!,
    [(kh! - 1) * dilation + 1, (kw! - 1) * dilation + 1],
    stride,
    padding,
    'depthwise conv',
  );
  return tf.tidy(() =>
    depthwiseValid(padSpatial(x as tf.Tensor4D, padding), dilateKernel(w as tf.Tensor4D, dilation), stride),
  );
}

/**
 * tf.depthwiseConv2d(x, w, stride, 'valid'). For stride 1 and multiplier 1 both gradients are
 * forward depthwise convs (native kernels everywhere) instead of tfjs's
 * DepthwiseConv2dNativeBackprop{Input,Filter}, which are JS loops on wasm: 2–3× faster there on
 * 64×14×14×16 batches. dx: dy padded by k − 1 on every side, correlated with the flipped kernel;
 * dw: x and dy correlated per channel, with the batch folded into the channels and dy as the
 * kernel. Strided convs keep tfjs's gradients (as fast: the strided formulas need a
 * zero-spread dy and a dilated correlation).
 */
function depthwiseValid(x: tf.Tensor4D, w: tf.Tensor4D, stride: number): tf.Tensor4D {
  if (w.shape[3] !== 1 || stride !== 1) return tf.depthwiseConv2d(x, w, stride, 'valid');
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, wIn, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xIn, wIn]);
    return {
      value: tf.depthwiseConv2d(xIn, wIn, 1, 'valid'),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = dy as tf.Tensor4D;
        const [xi, wi] = saved as [tf.Tensor4D, tf.Tensor4D];
        const [n, h, wd, c] = xi.shape;
        const [kh, kw] = wi.shape;
        const [, ho, wo] = g.shape;
        const gp = tf.pad(g, [
          [0, 0],
          [kh - 1, kh - 1],
          [kw - 1, kw - 1],
          [0, 0],
        ]);
        const dx = tf.depthwiseConv2d(gp, tf.reverse(wi, [0, 1]), 1, 'valid');
        const xs = tf.reshape(tf.transpose(xi, [1, 2, 0, 3]), [1, h, wd, n * c]) as tf.Tensor4D;
        const gs = tf.reshape(tf.transpose(g, [1, 2, 0, 3]), [ho, wo, n * c, 1]) as tf.Tensor4D;
        const dw = tf.sum(tf.reshape(tf.depthwiseConv2d(xs, gs, 1, 'valid'), [kh, kw, n, c]), 2); // [1, kh, kw, n·c] → Σ over n
        return [dx, tf.reshape(dw, [kh, kw, c, 1])];
      },
    };
  });
  return op(x, w) as tf.Tensor4D;
}
