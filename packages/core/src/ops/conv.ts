import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { paramSpec, type ParamSpec } from '../params.js';

/**
 * 2-D convolution (NHWC) with shared or per-sample kernels.
 *
 * Kernels use the tfjs layout [kh, kw, cin, cout] (shared) or [B, kh, kw, cin, cout]
 * (per-sample: sample i is convolved with kernel i, in one batched pass). Strides are never
 * taken with StridedSlice (no gradient); the per-sample 'im2col' path uses only GatherV2,
 * Concat, Reshape, Sum and BatchMatMul under a custom gradient, so it trains on every backend
 * with the kernels tfjs ships.
 */

/** 'same' / 'valid' as in TensorFlow, or a symmetric explicit zero padding (PyTorch `padding=p`). */
export type Padding = 'same' | 'valid' | number;

/**
 * How per-sample kernels are applied (see conv.test.ts for the measurements behind 'auto').
 * - 'im2col': patches [B, H'·W', kh·kw·cin] with one GatherV2 (gradient: one GatherV2 through
 *   the inverse index), then one BatchMatMul with the kernels [B, kh·kw·cin, cout]. Needs no
 *   kernel beyond what every backend ships, so it always trains.
 * - 'depthwise': fold the batch into channels ([1, H, W, B·cin]), one depthwise conv with
 *   channel multiplier cout, then sum over cin. Its gradient needs
 *   DepthwiseConv2dNativeBackprop{Filter,Input}, which wasm has only once core registers them.
 * - 'auto' (default): 'depthwise' on wasm when those two gradient kernels are registered for
 *   it (XNNPACK runs the depthwise conv; wasm's BatchMatMul with B > 1 and its GatherV2 are
 *   scalar loops), 'im2col' everywhere else (cpu: the depthwise gradients are ~10x slower;
 *   GPUs: one gather and one batched matmul).
 */
export type PerSampleConvMethod = 'auto' | 'im2col' | 'depthwise';

/** The method 'auto' resolves to on the current backend. */
export function resolvePerSampleConvMethod(method: PerSampleConvMethod = 'auto'): 'im2col' | 'depthwise' {
  if (method !== 'auto') return method;
  const backend = tf.getBackend();
  if (
    backend === 'wasm' &&
    tf.getKernel('DepthwiseConv2dNativeBackpropFilter', backend) &&
    tf.getKernel('DepthwiseConv2dNativeBackpropInput', backend)
  )
    return 'depthwise';
  return 'im2col';
}

export interface Conv2dOptions {
  /** Stride, one number for both axes or [sh, sw]. Default 1. */
  stride?: number | readonly [number, number];
  /** Default 'valid'. */
  padding?: Padding;
  /** Per-sample kernels only. Default 'auto'. */
  method?: PerSampleConvMethod;
}

export interface ConvGeometry {
  outH: number;
  outW: number;
  /** Zero padding [top, bottom, left, right]. */
  pad: [number, number, number, number];
}

function pair(s: number | readonly [number, number] | undefined, dflt: number): [number, number] {
  if (s === undefined) return [dflt, dflt];
  return typeof s === 'number' ? [s, s] : [s[0], s[1]];
}

function axisGeometry(n: number, k: number, s: number, padding: Padding): [number, number, number] {
  if (padding === 'valid') return [Math.floor((n - k) / s) + 1, 0, 0];
  if (padding === 'same') {
    const out = Math.ceil(n / s);
    const total = Math.max((out - 1) * s + k - n, 0);
    const lo = Math.floor(total / 2);
    return [out, lo, total - lo];
  }
  return [Math.floor((n + 2 * padding - k) / s) + 1, padding, padding];
}

/**
 * Output size and zero padding of a conv/pool window over an [h, w] input. Throws a
 * ConfigError when the window does not fit.
 */
export function convGeometry(
  h: number,
  w: number,
  kernel: number | readonly [number, number],
  stride: number | readonly [number, number] = 1,
  padding: Padding = 'valid',
  what = 'conv2d',
): ConvGeometry {
  const [kh, kw] = pair(kernel, 1);
  const [sh, sw] = pair(stride, 1);
  if (![kh, kw, sh, sw].every((v) => Number.isInteger(v) && v > 0))
    throw new ConfigError(
      what,
      `kernel and stride must be positive integers, got kernel [${kh}, ${kw}], stride [${sh}, ${sw}]`,
    );
  if (typeof padding === 'number' && !(Number.isInteger(padding) && padding >= 0))
    throw new ConfigError(what, `padding must be 'same', 'valid' or a non-negative integer, got ${padding}`);
  if (typeof padding !== 'number' && padding !== 'same' && padding !== 'valid')
    throw new ConfigError(what, `padding must be 'same', 'valid' or a non-negative integer, got '${String(padding)}'`);
  const [outH, pt, pb] = axisGeometry(h, kh, sh, padding);
  const [outW, pl, pr] = axisGeometry(w, kw, sw, padding);
  if (outH <= 0 || outW <= 0)
    throw new ConfigError(
      what,
      `a ${kh}x${kw} window with stride [${sh}, ${sw}] and padding ${JSON.stringify(padding)} does not fit a ${h}x${w} input`,
    );
  return { outH, outW, pad: [pt, pb, pl, pr] };
}

/** ParamSpecs of a conv layer: `${name}.weight` [k, k, cin, cout] and (optionally) `${name}.bias` [cout]. */
export function convSpecs(
  name: string,
  kernel: number,
  cin: number,
  cout: number,
  layer: number,
  activation: string,
  bias = true,
): ParamSpec[] {
  const fanIn = kernel * kernel * cin;
  const fanOut = kernel * kernel * cout;
  const out = [
    paramSpec({
      name: `${name}.weight`,
      shape: [kernel, kernel, cin, cout],
      kind: 'weight',
      layer,
      fanIn,
      fanOut,
      activation,
    }),
  ];
  if (bias)
    out.push(paramSpec({ name: `${name}.bias`, shape: [cout], kind: 'bias', layer, fanIn, fanOut, activation }));
  return out;
}

/**
 * Convolution. x: [N, H, W, cin]; w: [kh, kw, cin, cout] (shared) or [N, kh, kw, cin, cout]
 * (per-sample); b: [cout] or [N, cout]. Returns [N, H', W', cout].
 */
export function conv2d(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor, options: Conv2dOptions = {}): tf.Tensor4D {
  return tf.tidy(() => {
    if (x.rank !== 4)
      throw new ShapeMismatchError(
        'conv2d input (NHWC)',
        [x.shape[0] ?? -1, -1, -1, -1],
        x.shape,
        'conv2d takes a rank-4 [N, H, W, C] input',
      );
    const [n, h, wd, cin] = x.shape;
    const perSample = w.rank === 5;
    if (!perSample && w.rank !== 4)
      throw new ShapeMismatchError(
        'conv2d kernel',
        [-1, -1, cin, -1],
        w.shape,
        'pass [kh, kw, cin, cout] or per-sample [N, kh, kw, cin, cout]',
      );
    const ks = perSample ? w.shape.slice(1) : w.shape;
    const [kh, kw, kcin, cout] = ks;
    if (kcin !== cin || (perSample && w.shape[0] !== n))
      throw new ShapeMismatchError(
        'conv2d kernel',
        perSample ? [n, kh, kw, cin, cout] : [kh, kw, cin, cout],
        w.shape,
        'the kernel must match the input channels (and, per-sample, the batch size)',
      );
    const stride = pair(options.stride, 1);
    const padding = options.padding ?? 'valid';
    const geo = convGeometry(h, wd, [kh, kw], stride, padding);
    let y: tf.Tensor4D;
    if (!perSample) {
      y = sharedConv(x as tf.Tensor4D, w as tf.Tensor4D, stride, padding, geo);
    } else if (resolvePerSampleConvMethod(options.method) === 'depthwise') {
      y = perSampleConvDepthwise(x as tf.Tensor4D, w as tf.Tensor5D, stride, padding, geo);
    } else {
      y = perSampleConvIm2col(x as tf.Tensor4D, w as tf.Tensor5D, stride, geo);
    }
    if (b) {
      const expected = perSample ? [n, cout] : [cout];
      if (b.rank !== expected.length || b.shape.some((d, i) => d !== expected[i]))
        throw new ShapeMismatchError('conv2d bias', expected, b.shape);
      y = tf.add(y, perSample ? tf.reshape(b, [n, 1, 1, cout]) : b) as tf.Tensor4D;
    }
    return y;
  });
}

function padInput(x: tf.Tensor4D, pad: [number, number, number, number]): tf.Tensor4D {
  const [t, bt, l, r] = pad;
  if (t + bt + l + r === 0) return x;
  return tf.pad(x, [
    [0, 0],
    [t, bt],
    [l, r],
    [0, 0],
  ]);
}

function sharedConv(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  stride: [number, number],
  padding: Padding,
  geo: ConvGeometry,
): tf.Tensor4D {
  // 'same'/'valid' go to the native kernel; explicit padding is applied with tf.pad so that
  // every backend's conv kernels (and the ones core registers) only see 'same'/'valid'.
  if (padding === 'same' || padding === 'valid') return tf.conv2d(x, w, stride, padding);
  return tf.conv2d(padInput(x, geo.pad), w, stride, 'valid');
}

/**
 * Gather indices of an im2col over an [h, w] image (flattened to h·w rows, plus one zero row
 * at index h·w that padding positions point at), and the inverse map used by the gradient.
 * Computed in JS once per geometry and cached.
 */
interface Im2colIndex {
  /** [outH·outW·kh·kw]: for output position p and kernel offset k, the input row it reads. */
  forward: Int32Array;
  /** [h·w·kh·kw]: for input row q and offset k, the patch row p·K + k that read it, or outH·outW·K (zero row). */
  inverse: Int32Array;
}

const im2colCache = new Map<string, Im2colIndex>();

function im2colIndex(
  h: number,
  w: number,
  kh: number,
  kw: number,
  stride: [number, number],
  geo: ConvGeometry,
): Im2colIndex {
  const key = [h, w, kh, kw, ...stride, geo.outH, geo.outW, ...geo.pad].join(',');
  let idx = im2colCache.get(key);
  if (idx) return idx;
  const [sh, sw] = stride;
  const { outH, outW } = geo;
  const [pt, , pl] = geo.pad;
  const k = kh * kw;
  const zeroIn = h * w;
  const zeroPatch = outH * outW * k;
  const forward = new Int32Array(outH * outW * k);
  const inverse = new Int32Array(h * w * k).fill(zeroPatch);
  for (let oy = 0; oy < outH; oy++)
    for (let ox = 0; ox < outW; ox++)
      for (let dy = 0; dy < kh; dy++)
        for (let dx = 0; dx < kw; dx++) {
          const iy = oy * sh + dy - pt;
          const ix = ox * sw + dx - pl;
          const row = ((oy * outW + ox) * kh + dy) * kw + dx;
          if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
            const q = iy * w + ix;
            forward[row] = q;
            // One output position per (input position, offset): the map is injective.
            inverse[q * k + dy * kw + dx] = row;
          } else forward[row] = zeroIn;
        }
  idx = { forward, inverse };
  if (im2colCache.size > 256) im2colCache.clear();
  im2colCache.set(key, idx);
  return idx;
}

/** Rows of `x` [B, R, C] picked by `index`, where index R means a zero row. */
function gatherRowsWithZero(x: tf.Tensor3D, index: Int32Array): tf.Tensor3D {
  const [b, , c] = x.shape;
  const xz = tf.concat([x, tf.zeros([b, 1, c])], 1);
  return tf.gather(xz, tf.tensor1d(index, 'int32'), 1) as tf.Tensor3D;
}

/**
 * Patches [B, outH·outW, kh·kw·C] of x [B, H, W, C], ordered (dy, dx, c) to match a flattened
 * [kh, kw, cin] kernel. One GatherV2 forward; the gradient (col2im) is one GatherV2 through
 * the inverse index and a sum over offsets — no StridedSlice, no scatter, no Slice (which on
 * wasm copies its whole input per call), so every backend runs it with its own kernels.
 */
export function im2col(
  x: tf.Tensor4D,
  kh: number,
  kw: number,
  stride: [number, number],
  geo: ConvGeometry,
): tf.Tensor3D {
  const [b, h, w, c] = x.shape;
  const { outH, outW } = geo;
  const k = kh * kw;
  const idx = im2colIndex(h, w, kh, kw, stride, geo);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.reshape(gatherRowsWithZero(tf.reshape(args[0] as tf.Tensor, [b, h * w, c]), idx.forward), [
      b,
      outH * outW,
      k * c,
    ]),
    gradFunc: (dy: tf.Tensor) => {
      const rows = gatherRowsWithZero(tf.reshape(dy, [b, outH * outW * k, c]) as tf.Tensor3D, idx.inverse);
      return tf.reshape(tf.sum(tf.reshape(rows, [b, h * w, k, c]), 2), [b, h, w, c]);
    },
  }));
  return op(x) as tf.Tensor3D;
}

function perSampleConvIm2col(x: tf.Tensor4D, w: tf.Tensor5D, stride: [number, number], geo: ConvGeometry): tf.Tensor4D {
  const [b, kh, kw, cin, cout] = w.shape;
  const { outH, outW } = geo;
  const w3 = tf.reshape(w, [b, kh * kw * cin, cout]) as tf.Tensor3D;
  const patches =
    kh === 1 && kw === 1 && stride[0] === 1 && stride[1] === 1 && geo.pad.every((p) => p === 0)
      ? (tf.reshape(x, [b, outH * outW, cin]) as tf.Tensor3D)
      : im2col(x, kh, kw, stride, geo);
  // One BatchMatMul with equal batch dims on both sides (no broadcast: its gradient is right).
  return tf.reshape(tf.matMul(patches, w3), [b, outH, outW, cout]) as tf.Tensor4D;
}

function perSampleConvDepthwise(
  x: tf.Tensor4D,
  w: tf.Tensor5D,
  stride: [number, number],
  padding: Padding,
  geo: ConvGeometry,
): tf.Tensor4D {
  const [b, kh, kw, cin, cout] = w.shape;
  const [, h, wd] = x.shape;
  const { outH, outW } = geo;
  // [B, H, W, C] → [1, H, W, B·C]: the batch becomes groups of channels.
  const xg = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, wd, b * cin]) as tf.Tensor4D;
  const f = tf.reshape(tf.transpose(w, [1, 2, 0, 3, 4]), [kh, kw, b * cin, cout]) as tf.Tensor4D;
  const pad = padding === 'same' || padding === 'valid' ? padding : 'valid';
  const xin = pad === padding ? xg : padInput(xg, geo.pad);
  const y = tf.depthwiseConv2d(xin, f, stride, pad); // [1, H', W', B·cin·cout]
  return tf.transpose(tf.sum(tf.reshape(y, [outH, outW, b, cin, cout]), 3), [2, 0, 1, 3]) as tf.Tensor4D;
}
