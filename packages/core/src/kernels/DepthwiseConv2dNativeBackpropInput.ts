// DepthwiseConv2dNativeBackpropInput for tfjs-backend-wasm (missing in 4.22), NHWC:
// dx[b, ih, iw, c] = Σ_{fh, fw, m : ih = oh·sh + fh·dh − padTop, iw = ow·sw + fw·dw − padLeft}
//                      dy[b, oh, ow, c·M + m] · w[fh, fw, c, m]
// Written as a scatter over (b, oh, ow, fh, fw) so the inner loop over channels is
// contiguous in dy, w and dx. Accumulates in float64. Dilations are honoured.
import * as tf from '@tensorflow/tfjs-core';
import { convBackpropInfo, convLoopDims, forEachConvTap, jsKernelConfig } from './wasm_util.js';

export function depthwiseInputGradJS(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  info: tf.backend_util.Conv2DInfo,
): Float64Array {
  const { B, H, W, C, CO } = convLoopDims(info);
  const M = CO / C;
  const dx = new Float64Array(B * H * W * C);
  forEachConvTap(info, (xOff, wOff, dyOff) => {
    if (M === 1) {
      for (let c = 0; c < C; c++) dx[xOff + c] += dy[dyOff + c] * w[wOff + c];
    } else {
      for (let c = 0, d = 0; c < C; c++) {
        let s = 0;
        for (let m = 0; m < M; m++, d++) s += dy[dyOff + d] * w[wOff + d];
        dx[xOff + c] += s;
      }
    }
  });
  return dx;
}

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = jsKernelConfig(
  tf.DepthwiseConv2dNativeBackpropInput,
  (inputs, attrs, read) => {
    const { dy, filter } = inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { inputShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
    const info = convBackpropInfo(
      tf.DepthwiseConv2dNativeBackpropInput,
      inputShape,
      filter.shape,
      attrs,
      true /* depthwise */,
    );
    return { shape: info.inShape as number[], values: depthwiseInputGradJS(read(dy), read(filter), info) };
  },
);
