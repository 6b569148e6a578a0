// MaxPoolGrad for tfjs-backend-wasm — a REPLACEMENT, not a missing kernel.
//
// tfjs-backend-wasm 4.22's own MaxPoolGrad (src/cc/kernels/MaxPoolGrad.cc) seeds its running
// maximum with std::numeric_limits<float>::min() (the smallest *positive* float) instead of
// lowest(): in any pooling window whose values are all ≤ 0 it never finds the maximum and
// drops that window's gradient (and with ties it picks the last maximum, cpu the first).
// Networks that max-pool anything that can be negative (conv → maxPool → relu, batch-norm
// before pooling, …) get wrong gradients. Caught by survey.test.ts (error 1.0 vs cpu).
//
// This kernel routes dy[b, oh, ow, c] to the *first* maximum of its window (strict '>',
// like tfjs-backend-cpu's maxPoolPositions), skipping padding. Inner loop over channels
// (contiguous in NHWC).
import * as tf from '@tensorflow/tfjs-core';
import { convLoopDims, jsKernelConfig } from './wasm_util.js';

export function maxPoolGradJS(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  info: tf.backend_util.Conv2DInfo,
): Float64Array {
  const { B, H, W, C, OH, OW, FH, FW, sh, sw, dh, dw, pt, pl } = convLoopDims(info);
  const dx = new Float64Array(B * H * W * C);
  const best = new Float64Array(C);
  const at = new Int32Array(C);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        best.fill(-Infinity);
        at.fill(-1);
        for (let fh = 0; fh < FH; fh++) {
          const ih = ih0 + fh * dh;
          if (ih < 0 || ih >= H) continue;
          for (let fw = 0; fw < FW; fw++) {
            const iw = iw0 + fw * dw;
            if (iw < 0 || iw >= W) continue;
            const xOff = ((b * H + ih) * W + iw) * C;
            for (let c = 0; c < C; c++) {
              const v = x[xOff + c];
              if (v > best[c]) {
                best[c] = v;
                at[c] = xOff + c;
              }
            }
          }
        }
        const dyOff = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) if (at[c] >= 0) dx[at[c]] += dy[dyOff + c];
      }
    }
  }
  return dx;
}

export const maxPoolGradConfig: tf.KernelConfig = jsKernelConfig(tf.MaxPoolGrad, (inputs, attrs, read) => {
  const { dy, input } = inputs as unknown as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  return { shape: input.shape, values: maxPoolGradJS(read(input), read(dy), info) };
});
