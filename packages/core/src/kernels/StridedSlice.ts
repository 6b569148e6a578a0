// StridedSlice for tfjs-backend-wasm — a REPLACEMENT.
//
// tfjs-backend-wasm 4.22's StridedSlice, on its general (non-contiguous) path:
//  - allocates the output as 'float32' whatever the input dtype and copies the raw bytes: an
//    int32 input comes back as a float32 tensor holding the integers' bit patterns
//    (1 → 1.4e-45), a bool input is garbage;
//  - with a shrinkAxisMask, walks the *sparse* output shape (shrunk axes dropped) against the
//    dense begin/strides, so it reads the wrong elements (tfjs-backend-cpu shares this bug:
//    tf.stridedSlice(x[4,5,6], [3,1,0], [0,0,6], [-1,1,2], 0, 4, 0, 0, 2) gives x[3,0,1..3]…
//    instead of TensorFlow's x[3:0:-1, 1, 0:6:2]).
// float32 inputs without that problem still go to wasm's own kernel (captured when this one
// is registered); the rest take a JS strided copy over the dense shape, TensorFlow semantics.
import * as tf from '@tensorflow/tfjs-core';
import { UnsupportedOpError } from '../errors/index.js';
import { getOriginalKernel } from './originals.js';
import { asWasmBackend, computeStrides, makeOutputFrom, readValues, sizeOf } from './wasm_util.js';

/** tfjs-backend-wasm's own StridedSlice (float32 inputs are delegated to it). */
const wasmOriginal = () => getOriginalKernel(stridedSliceConfig);

export function stridedSliceJS(
  x: ArrayLike<number>,
  xShape: number[],
  begin: number[],
  strides: number[],
  outShape: number[],
  out: { [i: number]: number; length: number },
): void {
  const rank = xShape.length;
  const n = sizeOf(outShape);
  if (n === 0) return;
  if (rank === 0) {
    out[0] = x[0];
    return;
  }
  const xs = computeStrides(xShape);
  const step = strides.map((s, i) => s * xs[i]);
  const idx = new Array<number>(rank).fill(0);
  let off = begin.reduce((a, b, i) => a + b * xs[i], 0);
  for (let o = 0; o < n; o++) {
    out[o] = x[off];
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax]++;
      off += step[ax];
      if (idx[ax] < outShape[ax]) break;
      off -= step[ax] * outShape[ax];
      idx[ax] = 0;
    }
  }
}

export const stridedSliceConfig: tf.KernelConfig = {
  kernelName: tf.StridedSlice,
  backendName: 'wasm',
  // wasm's kernel binds its C function in its setupFunc, which tfjs runs when the backend
  // initialises — for the kernels registered at that moment, i.e. ours once replaced.
  setupFunc: (backend) => wasmOriginal()?.setupFunc?.(backend),
  kernelFunc: (args) => {
    const { inputs, backend: b, attrs } = args;
    const { x } = inputs as unknown as { x: tf.TensorInfo };
    const a = attrs as unknown as tf.StridedSliceAttrs;
    const info = tf.slice_util.sliceInfo(
      x.shape,
      a.begin,
      a.end,
      a.strides,
      a.beginMask,
      a.endMask,
      a.ellipsisMask,
      a.newAxisMask,
      a.shrinkAxisMask,
    );
    const general = !(info.isIdentity || info.sliceDim0 || info.isSimpleSlice);
    const sparseBug = general && info.finalShapeSparse.length !== x.shape.length;
    if (x.dtype === 'float32' && wasmOriginal() != null && !sparseBug) return wasmOriginal()!.kernelFunc(args);
    const backend = asWasmBackend(b, 'StridedSlice');
    if (x.dtype === 'string' || x.dtype === 'complex64')
      throw new UnsupportedOpError('StridedSlice', 'wasm', `dtype ${x.dtype} (float32, int32 and bool are)`);
    const dense = info.begin.map((bg, i) => Math.max(0, Math.ceil((info.end[i] - bg) / info.strides[i])));
    const xv = readValues(backend, x);
    const out = new (x.dtype === 'bool' ? Uint8Array : x.dtype === 'int32' ? Int32Array : Float32Array)(sizeOf(dense));
    // invariant: tfjs's sliceInfo gives finalShape from the same begin/end/strides (a bug here, not bad input).
    if (out.length !== sizeOf(info.finalShape))
      throw new Error(
        `@hypernets/core StridedSlice on wasm: internal shape mismatch [${dense}] vs [${info.finalShape}]`,
      );
    stridedSliceJS(xv, x.shape, info.begin, info.strides, dense, out);
    return makeOutputFrom(backend, info.finalShape, x.dtype, out);
  },
};
