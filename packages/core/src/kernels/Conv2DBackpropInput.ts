// Conv2DBackpropInput for tfjs-backend-wasm — a REPLACEMENT for speed (wasm's own is
// correct but is a direct 7-deep C++ loop, 6–13× slower than the forward conv2d on
// ResNet-20 / LeNet shapes: the bottleneck of training conv nets on wasm; this one is
// 3.4–6.6× faster on ResNet-20 layers at batch 32).
//
// dx = col2im(dy · Wᵀ): one XNNPACK BatchMatMul dy[N = B·OH·OW, Cout] · Wᵀ[Cout, K = FH·FW·Cin]
// → cols[N, K], then a JS scatter-add of each row into the input positions its window
// covers (inner loop over Cin, contiguous in both). Batches are chunked so that cols stays
// under ~32 MiB. Also serves tf.conv2dTranspose, whose forward pass is this kernel.
// NHWC only (as wasm's Conv2D). tfjs's Conv2DBackpropInput has no dilations attr; a
// `dilations` attr, if a caller passes one (as TensorFlow's op has), is honoured.
import * as tf from '@tensorflow/tfjs-core';
import { UnsupportedOpError } from '../errors/index.js';
import { getOriginalKernel } from './originals.js';
import {
  asWasmBackend,
  callWasmKernel,
  convBackpropInfo,
  convLoopDims,
  makeOutputFrom,
  readValues,
  type WasmBackendLike,
} from './wasm_util.js';

/** tfjs-backend-wasm's own Conv2DBackpropInput (fallback when BatchMatMul is absent). */
const wasmOriginal = () => getOriginalKernel(conv2DBackpropInputConfig);

/** Tunables (tests change them): most floats in one cols matrix (default 8 Mi = 32 MiB). */
export const conv2DBackpropInputOptions = { colsChunkFloats: 8 * 1024 * 1024 };

/** dx[b0..b1) += col2im(cols), cols row n = (b − b0, oh, ow), column k = (fh, fw, ci). */
function col2imAdd(
  cols: Float32Array,
  dx: Float32Array,
  info: tf.backend_util.Conv2DInfo,
  b0: number,
  b1: number,
): void {
  const { H, W, C, OH, OW, FH, FW, sh, sw, dh, dw, pt, pl } = convLoopDims(info);
  const K = FH * FW * C;
  let row = 0;
  for (let b = b0; b < b1; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      for (let ow = 0; ow < OW; ow++, row += K) {
        const iw0 = ow * sw - pl;
        for (let fh = 0; fh < FH; fh++) {
          const ih = ih0 + fh * dh;
          if (ih < 0 || ih >= H) continue;
          for (let fw = 0; fw < FW; fw++) {
            const iw = iw0 + fw * dw;
            if (iw < 0 || iw >= W) continue;
            const xo = ((b * H + ih) * W + iw) * C;
            const co = row + (fh * FW + fw) * C;
            for (let c = 0; c < C; c++) dx[xo + c] += cols[co + c];
          }
        }
      }
    }
  }
}

function inputGradMatMul(
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
  if (tf.getKernel('BatchMatMul', 'wasm') == null) return null;
  const {
    batchSize: B,
    outHeight: OH,
    outWidth: OW,
    outChannels: CO,
    filterHeight: FH,
    filterWidth: FW,
    inChannels: C,
  } = info;
  const K = FH * FW * C;
  const perBatch = OH * OW;
  // Wᵀ [CO, K] (small): filter is [FH, FW, C, CO] = [K, CO] row-major
  const w = readValues(backend, filter);
  const wT = new Float32Array(CO * K);
  for (let k = 0; k < K; k++) for (let o = 0; o < CO; o++) wT[o * K + k] = w[k * CO + o];
  const wTInfo = makeOutputFrom(backend, [1, CO, K], 'float32', wT);
  const dx = backend.makeOutput(info.inShape as number[], 'float32');
  (backend.typedArrayFromHeap(dx) as Float32Array).fill(0);
  const bChunk = Math.max(
    1,
    Math.min(B, Math.floor(conv2DBackpropInputOptions.colsChunkFloats / Math.max(1, K * perBatch))),
  );
  const dyVals = bChunk < B ? readValues(backend, dy) : null;
  try {
    for (let b0 = 0; b0 < B; b0 += bChunk) {
      const b1 = Math.min(B, b0 + bChunk);
      const N = (b1 - b0) * perBatch;
      const dyc: tf.TensorInfo =
        dyVals == null
          ? { dataId: dy.dataId, shape: [1, N, CO], dtype: 'float32' }
          : makeOutputFrom(backend, [1, N, CO], 'float32', dyVals.subarray(b0 * perBatch * CO, b1 * perBatch * CO));
      const cols = callWasmKernel(
        'BatchMatMul',
        backend,
        { a: dyc, b: wTInfo },
        { transposeA: false, transposeB: false },
      );
      if (dyVals != null) backend.disposeData(dyc.dataId);
      // invariant: inputGradMatMul runs only when wasm's BatchMatMul is registered (a bug here, not bad input).
      if (cols == null) throw new Error('BatchMatMul vanished');
      // views taken after the allocations above (growing wasm memory detaches older views)
      col2imAdd(
        backend.typedArrayFromHeap(cols) as Float32Array,
        backend.typedArrayFromHeap(dx) as Float32Array,
        info,
        b0,
        b1,
      );
      backend.disposeData(cols.dataId);
    }
  } catch (e) {
    backend.disposeData(dx.dataId);
    throw e;
  } finally {
    backend.disposeData(wTInfo.dataId);
  }
  return dx;
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  // wasm's kernel binds its C function in its setupFunc (run when the backend initialises,
  // for the kernels registered then, i.e. ours once replaced); keep the fallback usable.
  setupFunc: (backend) => wasmOriginal()?.setupFunc?.(backend),
  kernelFunc: (args) => {
    const backend = asWasmBackend(args.backend, 'Conv2DBackpropInput');
    const { dy, filter } = args.inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { inputShape } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const info = convBackpropInfo(
      'Conv2DBackpropInput',
      inputShape,
      filter.shape,
      args.attrs as tf.NamedAttrMap,
      false,
    );
    if (dy.dtype === 'float32' && filter.dtype === 'float32') {
      const r = inputGradMatMul(backend, dy, filter, info);
      if (r != null) return r;
    }
    if (wasmOriginal() != null && info.dilationHeight === 1 && info.dilationWidth === 1)
      return wasmOriginal()!.kernelFunc(args);
    throw new UnsupportedOpError(
      'Conv2DBackpropInput',
      'wasm',
      'needs float32 tensors and the wasm BatchMatMul kernel',
    );
  },
};
