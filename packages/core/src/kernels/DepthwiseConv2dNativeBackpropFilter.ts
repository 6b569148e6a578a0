// DepthwiseConv2dNativeBackpropFilter for tfjs-backend-wasm (missing in 4.22), NHWC:
// dW[fh, fw, c, m] = Σ_{b, oh, ow} x[b, oh·sh + fh·dh − padTop, ow·sw + fw·dw − padLeft, c] · dy[b, oh, ow, c·M + m]
// The flattened (c, m) index equals dy's channel index, so the inner loop is contiguous
// in both dy and dW. Dilations are honoured (tfjs-core's depthwise gradient itself only
// allows dilation 1; the cpu kernel ignores dilations in its loops).
import * as tf from '@tensorflow/tfjs-core';
import { convBackpropInfo, convLoopDims, jsKernelConfig } from './wasm_util.js';

export function depthwiseFilterGradJS(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  info: tf.backend_util.Conv2DInfo,
): Float64Array {
  const { B, H, W, C, OH, OW, CO, FH, FW, sh, sw, dh, dw, pt, pl } = convLoopDims(info);
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

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = jsKernelConfig(
  tf.DepthwiseConv2dNativeBackpropFilter,
  (inputs, attrs, read) => {
    const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const info = convBackpropInfo(tf.DepthwiseConv2dNativeBackpropFilter, x.shape, filterShape, attrs, true /* depthwise */);
    return { shape: info.filterShape as number[], values: depthwiseFilterGradJS(read(x), read(dy), info) };
  },
);
