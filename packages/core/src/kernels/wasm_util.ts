// Helpers shared by the JS kernels this folder registers on tfjs-backend-wasm.
//
// The kernels run inside the wasm backend: inputs live on the wasm heap (read with
// `readSync`, which copies), outputs are allocated there with `makeOutput` and written
// through a typed-array view of the heap. We never import the wasm package itself (it is
// loaded lazily by the backend selector); the backend object reaches us as the kernel's
// `backend` argument and is typed here structurally.
import * as tf from '@tensorflow/tfjs-core';
import { UnsupportedOpError } from '../errors/index.js';

type DataId = object;

/** The slice of tfjs-backend-wasm's `BackendWasm` that these kernels use. */
export interface WasmBackendLike {
  readSync(dataId: DataId): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
  disposeData(dataId: DataId, force?: boolean): boolean;
  incRef(dataId: DataId): void;
}

export function asWasmBackend(backend: unknown, kernelName: string): WasmBackendLike {
  const b = backend as Partial<WasmBackendLike> | null;
  // invariant: tfjs calls a kernel registered for 'wasm' only with the wasm backend (a bug here, not bad input).
  if (b == null || typeof b.makeOutput !== 'function' || typeof b.typedArrayFromHeap !== 'function')
    throw new Error(
      `@hypernets/core: the ${kernelName} kernel registered for 'wasm' was called with a backend that is not tfjs-backend-wasm`,
    );
  return b as WasmBackendLike;
}

/** Input values as a typed array (a copy off the wasm heap). */
export function readValues(backend: WasmBackendLike, t: tf.TensorInfo): tf.backend_util.TypedArray {
  const v = backend.readSync(t.dataId);
  // invariant: callers read numeric tensors only; string tensors are routed to wasm's own kernels (a bug here, not bad input).
  if (!ArrayBuffer.isView(v)) throw new Error(`@hypernets/core: expected a numeric tensor, got dtype ${t.dtype}`);
  return v as tf.backend_util.TypedArray;
}

/**
 * Allocates an output on the wasm heap and fills it from `values` (length must match).
 * The heap view is taken after allocation: `makeOutput` may grow wasm memory, which
 * detaches earlier views.
 */
export function makeOutputFrom(
  backend: WasmBackendLike,
  shape: number[],
  dtype: tf.DataType,
  values: ArrayLike<number>,
): tf.TensorInfo {
  const out = backend.makeOutput(shape, dtype);
  const view = backend.typedArrayFromHeap(out);
  // invariant: the kernels compute `values` for `shape` themselves (a bug here, not bad input).
  if (values.length !== view.length) throw new Error(`@hypernets/core: output size ${values.length} != ${view.length}`);
  if (ArrayBuffer.isView(values)) view.set(values as unknown as ArrayLike<number>);
  else for (let i = 0; i < view.length; i++) view[i] = values[i];
  return out;
}

/** Calls another kernel already registered for 'wasm' (BatchMatMul, …) with the same backend. */
export function callWasmKernel(
  name: string,
  backend: WasmBackendLike,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo | null {
  const k = tf.getKernel(name, 'wasm');
  if (k == null) return null;
  return k.kernelFunc({ inputs, backend: backend as unknown as tf.KernelBackend, attrs }) as tf.TensorInfo;
}

/** Throws a clear error for data formats the wasm backend's convolutions do not support. */
export function assertChannelsLast(kernelName: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast')
    throw new UnsupportedOpError(
      kernelName,
      'wasm',
      `only dataFormat 'NHWC' (got '${String(dataFormat)}'); ` +
        `tfjs-backend-wasm's own Conv2D has the same restriction. Transpose to NHWC or use the cpu backend.`,
    );
}

type Shape4 = [number, number, number, number];

/**
 * Conv2DInfo (NHWC) of a conv backprop kernel from its attrs: strides, pad, dimRoundingMode,
 * dilations (default 1: tfjs's Conv2D backprop attrs have none, TensorFlow's do) and, for
 * Conv2D's kernels, dataFormat (NHWC only, checked; the depthwise kernels' attrs have none).
 */
export function convBackpropInfo(
  kernelName: string,
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: tf.NamedAttrMap,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  const { strides, pad, dimRoundingMode, dataFormat, dilations } = attrs as unknown as Pick<
    tf.Conv2DBackpropInputAttrs,
    'strides' | 'pad' | 'dimRoundingMode' | 'dataFormat'
  > & { dilations?: number | [number, number] };
  if (!depthwise) assertChannelsLast(kernelName, dataFormat);
  return tf.backend_util.computeConv2DInfo(
    inShape as Shape4,
    filterShape as Shape4,
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    depthwise,
    'channelsLast',
  );
}

/** The sizes, strides, dilations and top/left padding of a Conv2DInfo, by the short names the JS loops use. */
export function convLoopDims(info: tf.backend_util.Conv2DInfo) {
  return {
    B: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    C: info.inChannels,
    OH: info.outHeight,
    OW: info.outWidth,
    CO: info.outChannels,
    FH: info.filterHeight,
    FW: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    pt: info.padInfo.top,
    pl: info.padInfo.left,
  };
}

/**
 * Config of a 'wasm' kernel computed in JS: `compute` gets the inputs, the attrs and `read`
 * (a tensor's values, copied off the wasm heap) and returns the output's shape and values,
 * written to a new float32 output on the heap.
 */
export function jsKernelConfig(
  kernelName: string,
  compute: (
    inputs: tf.NamedTensorInfoMap,
    attrs: tf.NamedAttrMap,
    read: (t: tf.TensorInfo) => tf.backend_util.TypedArray,
  ) => { shape: number[]; values: ArrayLike<number> },
): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend: b, attrs }) => {
      const backend = asWasmBackend(b, kernelName);
      const { shape, values } = compute(inputs, attrs as tf.NamedAttrMap, (t) => readValues(backend, t));
      return makeOutputFrom(backend, shape, 'float32', values);
    },
  };
}

export function computeStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * out[i0..in] = x[permuted index] for a row-major `x` of shape `xShape`: output axis k is
 * input axis perm[k]. Generic strided copy with an odometer; the innermost output axis is
 * the contiguous loop.
 */
export function permuteInto(
  x: ArrayLike<number>,
  xShape: readonly number[],
  perm: readonly number[],
  out: { [i: number]: number; length: number },
): void {
  const rank = xShape.length;
  if (rank === 0) {
    out[0] = x[0];
    return;
  }
  const xStrides = computeStrides(xShape);
  const outShape = perm.map((p) => xShape[p]);
  const st = perm.map((p) => xStrides[p]);
  const size = sizeOf(outShape);
  if (size === 0) return;
  const inner = outShape[rank - 1];
  const innerStride = st[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  let base = 0;
  let o = 0;
  while (o < size) {
    for (let j = 0, xi = base; j < inner; j++, xi += innerStride) out[o++] = x[xi];
    // advance the odometer over axes rank-2 .. 0
    let ax = rank - 2;
    while (ax >= 0) {
      idx[ax]++;
      base += st[ax];
      if (idx[ax] < outShape[ax]) break;
      base -= st[ax] * outShape[ax];
      idx[ax] = 0;
      ax--;
    }
    if (ax < 0) break;
  }
}

export function isIdentity(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

/**
 * Visits every (output position, filter tap) pair of a conv whose input tap lies inside the
 * image: `visit(xOff, wOff, dyOff)` gets the NHWC offsets of the input pixel's channel 0, the
 * filter tap's [fh, fw] row and the output pixel's channel 0. Shared by the JS backprop
 * kernels, which differ only in what they accumulate per tap.
 */
export function forEachConvTap(
  info: tf.backend_util.Conv2DInfo,
  visit: (xOff: number, wOff: number, dyOff: number) => void,
): void {
  const { B, H, W, C, OH, OW, CO, FH, FW, sh, sw, dh, dw, pt, pl } = convLoopDims(info);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const dyOff = ((b * OH + oh) * OW + ow) * CO;
        for (let fh = 0; fh < FH; fh++) {
          const ih = ih0 + fh * dh;
          if (ih < 0 || ih >= H) continue;
          for (let fw = 0; fw < FW; fw++) {
            const iw = iw0 + fw * dw;
            if (iw < 0 || iw >= W) continue;
            visit(((b * H + ih) * W + iw) * C, (fh * FW + fw) * CO, dyOff);
          }
        }
      }
    }
  }
}
