// DepthwiseConv2dNativeBackpropFilter for tfjs-backend-wasm (missing in 4.22), NHWC:
// dW[fh, fw, c, m] = Σ_{b, oh, ow} x[b, oh·sh + fh·dh − padTop, ow·sw + fw·dw − padLeft, c] · dy[b, oh, ow, c·M + m]
// The flattened (c, m) index equals dy's channel index, so the inner loop is contiguous
// in both dy and dW. Dilations are honoured (tfjs-core's depthwise gradient itself only
// allows dilation 1; the cpu kernel ignores dilations in its loops).
import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, makeOutputFrom, readValues } from './wasm_util.js';

export function depthwiseFilterGradJS(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  info: tf.backend_util.Conv2DInfo,
): Float64Array {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, filterHeight: FH, filterWidth: FW } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const M = CO / C;
  const acc = new Float64Array(FH * FW * CO);
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
            const xOff = ((b * H + ih) * W + iw) * C;
            const wOff = (fh * FW + fw) * CO;
            if (M === 1) {
              for (let c = 0; c < C; c++) acc[wOff + c] += x[xOff + c] * dy[dyOff + c];
            } else {
              for (let c = 0, d = 0; c < C; c++) {
                const xv = x[xOff + c];
                for (let m = 0; m < M; m++, d++) acc[wOff + d] += xv * dy[dyOff + d];
              }
            }
          }
        }
      }
    }
  }
  return acc;
}

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: b, attrs }) => {
    const backend = asWasmBackend(b, 'DepthwiseConv2dNativeBackpropFilter');
    const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, filterShape } =
      attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      dilations ?? 1,
      pad,
      dimRoundingMode,
      true /* depthwise */,
    );
    const acc = depthwiseFilterGradJS(readValues(backend, x), readValues(backend, dy), info);
    return makeOutputFrom(backend, info.filterShape as number[], 'float32', acc);
  },
};
