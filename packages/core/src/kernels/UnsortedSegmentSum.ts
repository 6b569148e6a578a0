// UnsortedSegmentSum for tfjs-backend-wasm (missing in 4.22); it is the gradient of
// gather (GatherV2), i.e. of every embedding lookup.
// out[s, ...] = Σ_{i : segmentIds[i] = s} x[i, ...]; ids outside [0, numSegments) are
// dropped (TensorFlow semantics). Accumulates in float64 for float inputs.
import * as tf from '@tensorflow/tfjs-core';
import { ShapeMismatchError } from '../errors/index.js';
import { asWasmBackend, makeOutputFrom, readValues, sizeOf } from './wasm_util.js';

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: b, attrs }) => {
    const backend = asWasmBackend(b, 'UnsortedSegmentSum');
    const { x, segmentIds } = inputs as unknown as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
    const segRank = segmentIds.shape.length;
    for (let i = 0; i < segRank; i++)
      if (segmentIds.shape[i] !== x.shape[i])
        throw new ShapeMismatchError(
          'UnsortedSegmentSum segmentIds',
          x.shape.slice(0, segRank),
          segmentIds.shape,
          `segmentIds' shape must be a prefix of x's shape [${x.shape}]`,
        );
    const inner = sizeOf(x.shape.slice(segRank));
    const outShape = [numSegments, ...x.shape.slice(segRank)];
    const dtype = x.dtype === 'bool' ? 'int32' : x.dtype;
    const acc = dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float64Array(numSegments * inner);
    // Heap views, not readSync copies (a [16,384, 256] input is 16 MB); none is held across an allocation.
    const xv = x.dtype === 'bool' ? readValues(backend, x) : backend.typedArrayFromHeap(x);
    const ids = backend.typedArrayFromHeap(segmentIds);
    const n = ids.length;
    for (let i = 0; i < n; i++) {
      const s = ids[i]!;
      if (!(s >= 0 && s < numSegments)) continue;
      const o = s * inner;
      const xi = i * inner;
      for (let j = 0; j < inner; j++) acc[o + j] += xv[xi + j]!;
    }
    return makeOutputFrom(backend, outShape, dtype, acc);
  },
};
