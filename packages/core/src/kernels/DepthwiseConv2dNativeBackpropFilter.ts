// DepthwiseConv2dNativeBackpropFilter for tfjs-backend-wasm (missing in 4.22), NHWC:
// dW[fh, fw, c, m] = Σ_{b, oh, ow} x[b, oh·sh + fh·dh − padTop, ow·sw + fw·dw − padLeft, c] · dy[b, oh, ow, c·M + m]
// The flattened (c, m) index equals dy's channel index, so the inner loop is contiguous
// in both dy and dW. Dilations are honoured (tfjs-core's depthwise gradient itself only
// allows dilation 1; the cpu kernel ignores dilations in its loops).
import * as tf from '@tensorflow/tfjs-core';
import { convBackpropInfo, convLoopDims, forEachConvTap, jsKernelConfig } from './wasm_util.js';

export function depthwiseFilterGradJS(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  info: tf.backend_util.Conv2DInfo,
): Float64Array {
  const { C, CO, FH, FW } = convLoopDims(info);
  const M = CO / C;
  const acc = new Float64Array(FH * FW * CO);
  forEachConvTap(info, (xOff, wOff, dyOff) => {
    if (M === 1) {
      for (let c = 0; c < C; c++) acc[wOff + c] += x[xOff + c] * dy[dyOff + c];
    } else {
      for (let c = 0, d = 0; c < C; c++) {
        const xv = x[xOff + c];
        for (let m = 0; m < M; m++, d++) acc[wOff + d] += xv * dy[dyOff + d];
      }
    }
  });
  return acc;
}

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = jsKernelConfig(
  tf.DepthwiseConv2dNativeBackpropFilter,
  (inputs, attrs, read) => {
    const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const info = convBackpropInfo(
      tf.DepthwiseConv2dNativeBackpropFilter,
      x.shape,
      filterShape,
      attrs,
      true /* depthwise */,
    );
    return { shape: info.filterShape as number[], values: depthwiseFilterGradJS(read(x), read(dy), info) };
  },
);
