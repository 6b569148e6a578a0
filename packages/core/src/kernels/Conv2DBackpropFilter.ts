// Conv2DBackpropFilter for tfjs-backend-wasm (which has no such kernel in 4.22):
// dW[fh, fw, ci, co] = Σ_{b, oh, ow} x[b, oh·sh + fh·dh − padTop, ow·sw + fw·dw − padLeft, ci] · dy[b, oh, ow, co]
//
// Two implementations:
//  - 'matmul' (default when the wasm BatchMatMul kernel is there): im2col into a transposed
//    column matrix colsT[K = FH·FW·Cin, N = B·OH·OW] on the wasm heap, then one XNNPACK
//    BatchMatMul colsT · dy[N, Cout] → dW[K, Cout]. Batches are chunked so that colsT stays
//    under ~32 MiB.
//  - 'js': outer-product accumulation in a Float64Array; inner loop over Cout is
//    contiguous in both dy and dW; zero inputs (ReLU outputs) are skipped.
import * as tf from '@tensorflow/tfjs-core';
import {
  asWasmBackend,
  callWasmKernel,
  convBackpropInfo,
  convLoopDims,
  makeOutputFrom,
  readValues,
  type WasmBackendLike,
} from './wasm_util.js';

export type ConvFilterGradMethod = 'auto' | 'matmul' | 'js';

/**
 * Tunables (tests and benchmarks change them). `method`: 'auto' = 'matmul' when the wasm
 * BatchMatMul kernel is registered, else 'js'. `im2colChunkFloats`: most floats in one
 * im2col matrix (default 8 Mi floats = 32 MiB); larger batches are done in chunks.
 */
export const conv2DBackpropFilterOptions: { method: ConvFilterGradMethod; im2colChunkFloats: number } = {
  method: 'auto',
  im2colChunkFloats: 8 * 1024 * 1024,
};

export function conv2DBackpropFilterInfo(xShape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  const { filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  return convBackpropInfo('Conv2DBackpropFilter', xShape, filterShape, attrs, false);
}

/** Pure-JS filter gradient (NHWC), accumulated in float64. Exported for tests/benchmarks. */
export function conv2DFilterGradJS(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  info: tf.backend_util.Conv2DInfo,
): Float64Array {
  const { B, H, W, C, OH, OW, CO, FH, FW, sh, sw, dh, dw, pt, pl } = convLoopDims(info);
  const acc = new Float64Array(FH * FW * C * CO);
  const CCO = C * CO;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const dyOff = ((b * OH + oh) * OW + ow) * CO;
        for (let fh = 0; fh < FH; fh++) {
          const ih = ih0 + fh * dh;
          if (ih < 0 || ih >= H) continue;
          const xRow = (b * H + ih) * W;
          for (let fw = 0; fw < FW; fw++) {
            const iw = iw0 + fw * dw;
            if (iw < 0 || iw >= W) continue;
            const xOff = (xRow + iw) * C;
            let r = (fh * FW + fw) * CCO;
            for (let ci = 0; ci < C; ci++, r += CO) {
              const xv = x[xOff + ci];
              if (xv === 0) continue;
              for (let co = 0; co < CO; co++) acc[r + co] += xv * dy[dyOff + co];
            }
          }
        }
      }
    }
  }
  return acc;
}

/**
 * Writes colsT[k, n] for batches [b0, b1) into `cols` (row length N = (b1−b0)·OH·OW),
 * k = (fh·FW + fw)·C + ci; padded positions are 0.
 */
function im2colT(
  x: ArrayLike<number>,
  info: tf.backend_util.Conv2DInfo,
  b0: number,
  b1: number,
  cols: Float32Array,
): void {
  const { H, W, C, OH, OW, FH, FW, sh, sw, dh, dw, pt, pl } = convLoopDims(info);
  const N = (b1 - b0) * OH * OW;
  const xStrideW = sw * C;
  for (let fh = 0; fh < FH; fh++) {
    for (let fw = 0; fw < FW; fw++) {
      // valid ow range for this fw: 0 <= ow*sw - pl + fw*dw < W
      const offW = fw * dw - pl;
      const owMin = Math.max(0, Math.ceil(-offW / sw));
      const owMax = Math.min(OW, Math.ceil((W - offW) / sw)); // exclusive
      for (let ci = 0; ci < C; ci++) {
        const row = ((fh * FW + fw) * C + ci) * N;
        let n = row;
        for (let b = b0; b < b1; b++) {
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * sh - pt + fh * dh;
            if (ih < 0 || ih >= H || owMin >= owMax) {
              cols.fill(0, n, n + OW);
              n += OW;
              continue;
            }
            let ow = 0;
            for (; ow < owMin; ow++) cols[n++] = 0;
            let xi = ((b * H + ih) * W + owMin * sw + offW) * C + ci;
            for (; ow < owMax; ow++, xi += xStrideW) cols[n++] = x[xi];
            for (; ow < OW; ow++) cols[n++] = 0;
          }
        }
      }
    }
  }
}

function filterGradMatMul(
  backend: WasmBackendLike,
  xVals: ArrayLike<number>,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
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
  const bChunk = Math.max(
    1,
    Math.min(B, Math.floor(conv2DBackpropFilterOptions.im2colChunkFloats / Math.max(1, K * perBatch))),
  );
  const outShape = info.filterShape as number[];
  if (bChunk >= B) {
    const N = B * perBatch;
    const cols = backend.makeOutput([1, K, N], 'float32');
    let res: tf.TensorInfo | null;
    try {
      im2colT(xVals, info, 0, B, backend.typedArrayFromHeap(cols) as Float32Array);
      const dy3: tf.TensorInfo = { dataId: dy.dataId, shape: [1, N, CO], dtype: 'float32' };
      res = callWasmKernel('BatchMatMul', backend, { a: cols, b: dy3 }, { transposeA: false, transposeB: false });
    } finally {
      backend.disposeData(cols.dataId);
    }
    if (res == null) return null;
    return { dataId: res.dataId, shape: outShape, dtype: 'float32' };
  }
  // Chunked over the batch: accumulate partial products in float64.
  const dyVals = readValues(backend, dy);
  const acc = new Float64Array(K * CO);
  for (let b0 = 0; b0 < B; b0 += bChunk) {
    const b1 = Math.min(B, b0 + bChunk);
    const N = (b1 - b0) * perBatch;
    const cols = backend.makeOutput([1, K, N], 'float32');
    const dyc = makeOutputFrom(backend, [1, N, CO], 'float32', dyVals.subarray(b0 * perBatch * CO, b1 * perBatch * CO));
    let res: tf.TensorInfo | null;
    try {
      im2colT(xVals, info, b0, b1, backend.typedArrayFromHeap(cols) as Float32Array);
      res = callWasmKernel('BatchMatMul', backend, { a: cols, b: dyc }, { transposeA: false, transposeB: false });
    } finally {
      backend.disposeData(cols.dataId);
      backend.disposeData(dyc.dataId);
    }
    if (res == null) return null;
    const part = readValues(backend, res);
    backend.disposeData(res.dataId);
    for (let i = 0; i < acc.length; i++) acc[i] += part[i];
  }
  return makeOutputFrom(backend, outShape, 'float32', acc);
}

/** Implementation with an explicit method choice (tests and benchmarks). */
export function conv2DBackpropFilterWith(
  method: ConvFilterGradMethod,
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, 'Conv2DBackpropFilter');
  const { x, dy } = args.inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const info = conv2DBackpropFilterInfo(x.shape, args.attrs ?? {});
  const xVals = readValues(backend, x);
  if (method !== 'js' && x.dtype === 'float32' && dy.dtype === 'float32') {
    const r = filterGradMatMul(backend, xVals, dy, info);
    if (r != null) return r;
  }
  const acc = conv2DFilterGradJS(xVals, readValues(backend, dy), info);
  return makeOutputFrom(backend, info.filterShape as number[], 'float32', acc);
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: (args) => conv2DBackpropFilterWith(conv2DBackpropFilterOptions.method, args),
};
